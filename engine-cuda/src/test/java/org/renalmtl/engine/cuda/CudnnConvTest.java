package org.renalmtl.engine.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.renalmtl.engine.Precision;
import org.renalmtl.engine.graph.Activation;
import org.renalmtl.engine.graph.Dims3;
import org.renalmtl.engine.graph.Graph;
import org.renalmtl.engine.graph.Op;
import org.renalmtl.engine.graph.OracleBound;
import org.renalmtl.engine.graph.Reference;
import org.renalmtl.weights.Tensor;

/**
 * {@link CudnnConv} on the GPU against the engine's float64 {@link Reference}: each epilogue (ReLU and
 * identity, which the fused call has; leaky ReLU and sigmoid, which run as {@code affine_act}), with
 * and without a residual, as chosen by the fused-call trial and switched to the plain path (β = 1 over y
 * holding z, then {@code affine_act}); every precision choosing only math types it accepts; and one
 * algorithm search for identical layers. Skipped without a GPU, with the reason.
 */
class CudnnConvTest {
    private static final OracleBound FP32 = new OracleBound(1e-5, 1e-6,
            "fp32 FMA sums of 8·27 = 216 products in cuDNN's order; sigmoid by expf");
    private Arena arena;

    @BeforeEach
    void gpu() {
        RequireGpu.device();
        arena = Arena.ofConfined();
    }

    @AfterEach
    void free() {
        if (arena != null) {
            arena.close();
        }
    }

    private Tensor tensor(String name, long seed, float scale, long... shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        MemorySegment s = GpuFixtures.randomFloats(arena, n, seed);
        for (long i = 0; i < n; i++) {
            s.setAtIndex(ValueLayout.JAVA_FLOAT, i, s.getAtIndex(ValueLayout.JAVA_FLOAT, i) * scale);
        }
        return new Tensor(name, shape, s);
    }

    /** x (2, 8, 5, 6, 7) → 3³ conv to 16 channels, stride (1, 2, 1), padding 1 → (2, 16, 5, 3, 7), then {@code more} identical convs. */
    private Graph graph(Activation act, boolean residual, int more) {
        Graph.Builder b = new Graph.Builder();
        int x = b.input("x", 2, 8, 5, 6, 7);
        int z = residual ? b.input("z", 2, 16, 5, 3, 7) : -1;
        b.constant(tensor("w", 40, 0.2f, 16, 8, 3, 3, 3)).constant(tensor("b", 41, 1f, 16));
        Op.Conv3d conv = new Op.Conv3d("w", "b", Dims3.of(new int[] {1, 2, 1}), Dims3.of(1), Dims3.of(1), residual, act);
        int y = residual ? b.add("conv", conv, x, z) : b.add("conv", conv, x);
        for (int i = 0; i < more; i++) {
            b.constant(tensor("w" + i, 50 + i, 0.1f, 16, 16, 3, 3, 3));
            y = b.add("same" + i, new Op.Conv3d("w" + i, null, Dims3.of(1), Dims3.of(1), Dims3.of(1), false,
                    Activation.RELU), y);
        }
        return b.output("y", y).build();
    }

    private Map<String, float[]> inputs(Graph g) {
        Map<String, float[]> in = new LinkedHashMap<>();
        long seed = 7;
        for (Map.Entry<String, Integer> e : g.inputs().entrySet()) {
            in.put(e.getKey(), GpuFixtures.randomFloats(arena, g.value(e.getValue()).elements(), seed++)
                    .toArray(ValueLayout.JAVA_FLOAT));
        }
        return in;
    }

    private float[] run(CudaGraphRunner r, Graph g, Map<String, float[]> inputs) {
        MemorySegment[] in = new MemorySegment[inputs.size()];
        int k = 0;
        for (float[] a : inputs.values()) {
            in[k++] = arena.allocateFrom(ValueLayout.JAVA_FLOAT, a);
        }
        MemorySegment out = arena.allocate(g.value(g.outputs().get("y")).bytes(), 64);
        r.run(in, new MemorySegment[] {out});
        return out.toArray(ValueLayout.JAVA_FLOAT);
    }

    @ParameterizedTest(name = "{0}, residual {1}")
    @CsvSource({"RELU, true", "RELU, false", "NONE, false", "NONE, true", "LEAKY_RELU, true", "SIGMOID, false"})
    void chosenAndPlainPathsBothMatchTheReference(Activation.Kind kind, boolean residual) {
        Activation act = kind == Activation.Kind.LEAKY_RELU ? Activation.leakyRelu(0.01f) : new Activation(kind, 0f);
        Graph g = graph(act, residual, 0);
        Map<String, float[]> inputs = inputs(g);
        float[] expected = Reference.run(g, inputs).get("y");
        try (CudaGraphRunner r = new CudaGraphRunner(g, 0, Precision.FP32)) {
            CudnnConv conv = (CudnnConv) r.graph().kernel(g.nodes().size() - 1);
            ConvChoice chosen = conv.choices().getFirst();
            FP32.check("as chosen (" + chosen + ")", "gpu", expected, run(r, g, inputs));
            // The plain path, whatever the trial chose: β = 1 must keep the residual, affine_act the activation.
            conv.use(ConvChoice.Mode.UNFUSED, chosen.candidate());
            FP32.check("plain convolution + affine_act", "gpu", expected, run(r, g, inputs));
            if (!act.equals(Activation.RELU) && !act.equals(Activation.NONE)) {
                assertEquals(ConvChoice.Mode.UNFUSED, chosen.mode(), "the fused call has no " + act);
            }
        }
    }

    @Test
    void everyPrecisionChoosesOnlyMathTypesItAccepts() {
        for (Precision p : new Precision[] {Precision.FP32, Precision.TF32, Precision.FP16}) {
            if (ConvMath.decide(p, CudaRuntime.cudnnVersion()) instanceof ConvMath.Use u) {
                try (CudaGraphRunner r = new CudaGraphRunner(graph(Activation.RELU, true, 0), 0, p)) {
                    for (ConvChoice c : r.graph().convolutions()) {
                        assertTrue(u.accepted().contains(c.candidate().mathType()), p + " chose " + c);
                    }
                }
            }
        }
    }

    @Test
    void identicalLayersShareOneSearch() {
        Graph g = graph(Activation.RELU, false, 2);
        try (CudaGraphRunner r = new CudaGraphRunner(g, 0, Precision.FP32)) {
            // The first conv, then two of the same shapes and parameters with other weights.
            assertEquals(2, r.searches());
            Map<String, float[]> inputs = inputs(g);
            FP32.check("the layers that reused a search", "gpu", Reference.run(g, inputs).get("y"), run(r, g, inputs));
        }
    }
}
