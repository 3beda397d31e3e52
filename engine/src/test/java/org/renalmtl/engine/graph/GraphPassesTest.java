package org.renalmtl.engine.graph;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.renalmtl.engine.ModelRunException;
import org.renalmtl.weights.Tensor;

/**
 * The rules of {@link FoldBatchNorm} and {@link FuseResidual} on hand-made graphs: what folds or fuses,
 * and what must stay as it is because another node, or the caller, reads the unfused value.
 */
class GraphPassesTest {
    private static final Dims3 ONE = Dims3.of(1);
    private static final Dims3 ZERO = Dims3.of(0);
    private static final Op.Conv3d CONV = new Op.Conv3d("w", null, ONE, ZERO, ONE, false, Activation.NONE);
    private static final Op.BatchNorm BN = new Op.BatchNorm("gamma", "beta", "mean", "var", 1e-5f, Activation.RELU);

    private final Arena arena = Arena.ofConfined();

    @AfterEach
    void close() {
        arena.close();
    }

    /** A builder with input x (1, 2, 2, 2, 2) and the constants of {@link #CONV} and {@link #BN}. */
    private Graph.Builder graph(float variance) {
        Graph.Builder b = new Graph.Builder();
        b.input("x", 1, 2, 2, 2, 2);
        b.constant(tensor("w", new long[] {2, 2, 1, 1, 1}, 0.5f, -1.25f, 3f, 0.125f));
        b.constant(tensor("gamma", new long[] {2}, 1.5f, 0.75f));
        b.constant(tensor("beta", new long[] {2}, 0.25f, -0.5f));
        b.constant(tensor("mean", new long[] {2}, 0.1f, -0.3f));
        b.constant(tensor("var", new long[] {2}, 0.9f, variance));
        return b;
    }

    @Test
    void aBatchNormFoldsIntoTheConvThatOnlyItReads() {
        Graph.Builder b = graph(1.1f);
        b.output("y", b.add("bn", BN, b.add("conv", CONV, 0)));
        Graph g = FoldBatchNorm.apply(b.build(), arena);
        assertEquals(1, g.nodes().size());
        Node conv = g.nodes().getFirst();
        assertEquals(new Op.Conv3d("w#folded", "beta#folded", ONE, ZERO, ONE, false, Activation.RELU), conv.op());
        assertEquals("conv", conv.name());
        assertEquals(conv.output(), g.outputs().get("y"));
        // Written out independently: scale = γ/√(var+eps) in double, products rounded once.
        double s0 = 1.5f / Math.sqrt(0.9f + 1e-5);
        double s1 = 0.75f / Math.sqrt(1.1f + 1e-5);
        float[] w = {(float) (0.5f * s0), (float) (-1.25f * s0), (float) (3f * s1), (float) (0.125f * s1)};
        assertArrayEquals(w, g.constant("w#folded").toArray());
        assertArrayEquals(new float[] {(float) (0.25f - 0.1f * s0), (float) (-0.5f + 0.3f * s1)},
                g.constant("beta#folded").toArray());
    }

    @Test
    void aBatchNormStaysWhenItsConvIsReadTwiceIsAnOutputOrHasAnActivation() {
        Graph.Builder twice = graph(1.1f);
        int c = twice.add("conv", CONV, 0);
        twice.output("y", twice.add("bn", BN, c)).output("pooled", twice.add("pool", new Op.GlobalAvgPool(), c));
        Graph.Builder output = graph(1.1f);
        int c2 = output.add("conv", CONV, 0);
        output.output("y", output.add("bn", BN, c2)).output("raw", c2);
        Graph.Builder relu = graph(1.1f);
        relu.output("y", relu.add("bn", BN, relu.add("conv", new Op.Conv3d("w", null, ONE, ZERO, ONE, false,
                Activation.RELU), 0)));
        for (Graph g : List.of(twice.build(), output.build(), relu.build())) {
            Graph folded = FoldBatchNorm.apply(g, arena);
            assertEquals(g.nodes(), folded.nodes());
            assertEquals(g.outputs(), folded.outputs());
        }
    }

    @Test
    void aFoldThatIsNotFiniteIsRefusedNamingTheLayer() {
        Graph.Builder b = graph(-1f); // a negative variance: √ of a negative number
        b.output("y", b.add("layer1.0.bn1", BN, b.add("layer1.0.conv1", CONV, 0)));
        Graph g = b.build();
        ModelRunException e = assertThrows(ModelRunException.class, () -> FoldBatchNorm.apply(g, arena));
        assertEquals("layer layer1.0.conv1 folded with BatchNorm layer1.0.bn1 has a weight of NaN: its tensors overflow"
                + " float32 or a variance is negative", e.getMessage());
    }

    @Test
    void aConvReadOnlyByAnAddTakesTheAddAsItsResidual() {
        Graph.Builder b = graph(1f);
        int x = 0;
        int c = b.add("conv", CONV, x);
        b.output("y", b.add("add", new Op.Add(Activation.RELU), x, c)); // the conv is the second operand here
        Graph g = FuseResidual.apply(b.build());
        assertEquals(1, g.nodes().size());
        Node conv = g.nodes().getFirst();
        assertEquals("conv", conv.name());
        assertEquals(new Op.Conv3d("w", null, ONE, ZERO, ONE, true, Activation.RELU), conv.op());
        assertArrayEquals(new int[] {0, 0}, conv.inputs()); // reads x, adds x
        assertEquals(conv.output(), g.outputs().get("y"));
    }

    @Test
    void ofTwoFusableConvsTheAddsFirstOperandFusesAndTheSecondIsItsResidual() {
        Graph.Builder b = graph(1f);
        int main = b.add("conv2", CONV, 0);
        int shortcut = b.add("downsample", CONV, 0);
        b.output("y", b.add("add", new Op.Add(Activation.RELU), main, shortcut));
        Graph g = FuseResidual.apply(b.build());
        assertEquals(List.of("downsample", "conv2"), g.nodes().stream().map(Node::name).toList());
        Node fused = g.nodes().get(1);
        assertEquals(new Op.Conv3d("w", null, ONE, ZERO, ONE, true, Activation.RELU), fused.op());
        assertArrayEquals(new int[] {0, g.nodes().getFirst().output()}, fused.inputs());
    }

    @Test
    void aConvReadTwiceWithAnActivationOrAddedToItselfDoesNotFuse() {
        Graph.Builder twice = graph(1f);
        int c = twice.add("conv", CONV, 0);
        twice.output("y", twice.add("add", new Op.Add(Activation.RELU), c, 0)).output("pooled",
                twice.add("pool", new Op.GlobalAvgPool(), c));
        Graph.Builder relu = graph(1f);
        int r = relu.add("conv", new Op.Conv3d("w", null, ONE, ZERO, ONE, false, Activation.RELU), 0);
        relu.output("y", relu.add("add", new Op.Add(Activation.NONE), r, 0));
        Graph.Builder self = graph(1f);
        int s = self.add("conv", CONV, 0);
        self.output("y", self.add("add", new Op.Add(Activation.NONE), s, s));
        Graph.Builder output = graph(1f);
        int o = output.add("conv", CONV, 0);
        output.output("y", output.add("add", new Op.Add(Activation.NONE), o, 0)).output("raw", o);
        for (Graph g : List.of(twice.build(), relu.build(), self.build(), output.build())) {
            Graph fused = FuseResidual.apply(g);
            assertEquals(g.nodes(), fused.nodes());
            assertEquals(g.outputs(), fused.outputs());
        }
    }

    private Tensor tensor(String name, long[] shape, float... values) {
        MemorySegment seg = arena.allocate((long) values.length * Float.BYTES, 64);
        MemorySegment.copy(values, 0, seg, ValueLayout.JAVA_FLOAT, 0, values.length);
        return new Tensor(name, shape, seg);
    }
}
