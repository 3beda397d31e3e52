package org.renalmtl.engine.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.renalmtl.engine.graph.Activation;
import org.renalmtl.engine.graph.Dims3;
import org.renalmtl.engine.graph.Graph;
import org.renalmtl.engine.graph.Node;
import org.renalmtl.engine.graph.Op;
import org.renalmtl.engine.graph.Reference;
import org.renalmtl.weights.Tensor;

/**
 * Whole graphs through the CPU executor against the plain Java {@link Reference}: a two-level U-Net in
 * nnU-Net's style (conv, instance norm + leaky ReLU, strided conv down, transposed conv up, concat of the
 * upsampled and the skip, 1×1 head), whose skip the schedule writes into the concat (strided at batch 2),
 * and a ResNet block whose residual conv writes over its shortcut. The bound is that of the per-op
 * oracle's conv (1e-5 of the largest output), since errors of a few ops in a row stay within it at
 * these sizes (≤ 16 channels, 3³ kernels).
 */
class CpuGraphTest {
    private static final double REL = 1e-5;

    @ParameterizedTest(name = "U-Net, batch {0}")
    @ValueSource(ints = {1, 2})
    void aUNetMatchesTheReferenceWithItsConcatAssembledInPlace(int batch) {
        try (Arena arena = Arena.ofConfined()) {
            Graph g = unet(arena, batch);
            Map<String, float[]> in = Map.of("x", random(g.value(g.inputs().get("x")).elements(), 1));
            try (CpuGraph cpu = CpuGraph.compile(g)) {
                int concat = indexOf(g, "decoder.cat");
                // The skip's producer writes into its slice; the transposed conv writes its own buffer, which the
                // concat copies (oneDNN's deconvolution ran past its scratchpad writing a strided slice at batch 2).
                assertTrue(!cpu.schedule().sliced(concat, 0) && cpu.schedule().sliced(concat, 1),
                        "the skip's producer writes into the concat's slice, the transposed conv does not");
                compare(Reference.run(g, in).get("y"), run(cpu, g, in, arena));
            }
        }
    }

    @Test
    void aResidualConvWritesOverItsShortcutAndMatchesTheReference() {
        try (Arena arena = Arena.ofConfined()) {
            Graph.Builder b = new Graph.Builder();
            int x = b.input("x", 2, 16, 6, 5, 7);
            int h = b.add("conv1", conv(b, arena, "conv1", 16, 16, 3, 1, Activation.RELU, false), x);
            b.output("y", b.add("conv2", conv(b, arena, "conv2", 16, 16, 3, 1, Activation.RELU, true), h, x));
            Graph g = b.build();
            Map<String, float[]> in = Map.of("x", random(g.value(x).elements(), 2));
            try (CpuGraph cpu = CpuGraph.compile(g)) {
                // x is a graph input (the caller's), so the conv must not write over it: its own buffer.
                assertEquals(-1, cpu.schedule().inPlace(1));
                compare(Reference.run(g, in).get("y"), run(cpu, g, in, arena));
            }
        }
    }

    @Test
    void theCheckedRunNamesTheFirstNodeWhoseOutputIsNotFinite() {
        try (Arena arena = Arena.ofConfined()) {
            Graph.Builder b = new Graph.Builder();
            int x = b.input("x", 1, 8, 5, 5, 5);
            int h = b.add("first", conv(b, arena, "first", 8, 8, 3, 1, Activation.NONE, false), x);
            int o = b.add("second", conv(b, arena, "second", 8, 8, 3, 1, Activation.NONE, false), h);
            b.output("y", o);
            Graph g = b.build();
            g.constant("second.w").data().fill((byte) 0x7f); // 0x7f7f7f7f ≈ 3.4e38: the second conv overflows
            float[] ones = new float[(int) g.value(x).elements()];
            java.util.Arrays.fill(ones, 1f);
            MemorySegment[] in = inputs(g, Map.of("x", ones), arena);
            try (CpuGraph cpu = CpuGraph.compile(g)) {
                assertEquals("second", cpu.firstNonFinite(in));
            }
            CpuGraph closed = CpuGraph.compile(g);
            closed.close();
            assertThrows(IllegalStateException.class, () -> closed.firstNonFinite(in));
        }
    }

    @Test
    void aFiniteRunHasNoNonFiniteNode() {
        try (Arena arena = Arena.ofConfined()) {
            Graph g = unet(arena, 1);
            Map<String, float[]> x = Map.of("x", random(g.value(g.inputs().get("x")).elements(), 3));
            try (CpuGraph cpu = CpuGraph.compile(g)) {
                run(cpu, g, x, arena);
                assertNull(cpu.firstNonFiniteVector());
                assertNull(cpu.firstNonFinite(inputs(g, x, arena)));
            }
        }
    }

    /** Two levels of nnU-Net: 16 channels at full size, 16 at half, transposed conv up, skip concat. */
    private static Graph unet(Arena arena, int batch) {
        Graph.Builder b = new Graph.Builder();
        Activation leaky = Activation.leakyRelu(0.01f);
        int x = b.input("x", batch, 1, 8, 6, 10);
        int e0 = b.add("encoder.0.conv", conv(b, arena, "encoder.0.conv", 1, 16, 3, 1, Activation.NONE, false), x);
        int n0 = b.add("encoder.0.norm", norm(b, arena, "encoder.0.norm", 16, leaky), e0);
        int e1 = b.add("encoder.1.conv", conv(b, arena, "encoder.1.conv", 16, 16, 3, 2, Activation.NONE, false), n0);
        int n1 = b.add("encoder.1.norm", norm(b, arena, "encoder.1.norm", 16, leaky), e1);
        String up = constant(b, arena, "decoder.up.w", new long[] {16, 16, 2, 2, 2});
        int u = b.add("decoder.up", new Op.ConvTranspose3d(up, constant(b, arena, "decoder.up.b", new long[] {16}),
                Dims3.of(2), Dims3.of(0), Dims3.of(0), Activation.NONE), n1);
        int c = b.add("decoder.cat", new Op.Concat(), u, n0);
        int d = b.add("decoder.conv", conv(b, arena, "decoder.conv", 32, 16, 3, 1, Activation.NONE, false), c);
        int dn = b.add("decoder.norm", norm(b, arena, "decoder.norm", 16, leaky), d);
        b.output("y", b.add("seg", conv(b, arena, "seg", 16, 3, 1, 1, Activation.NONE, false), dn));
        return b.build();
    }

    private static Op.Conv3d conv(Graph.Builder b, Arena arena, String name, int cin, int cout, int k, int stride,
            Activation act, boolean residual) {
        String w = constant(b, arena, name + ".w", new long[] {cout, cin, k, k, k});
        String bias = constant(b, arena, name + ".b", new long[] {cout});
        return new Op.Conv3d(w, bias, Dims3.of(stride), Dims3.of(k / 2), Dims3.of(1), residual, act);
    }

    private static Op.InstanceNorm3d norm(Graph.Builder b, Arena arena, String name, int c, Activation act) {
        return new Op.InstanceNorm3d(constant(b, arena, name + ".g", new long[] {c}),
                constant(b, arena, name + ".b", new long[] {c}), 1e-5f, act);
    }

    private static String constant(Graph.Builder b, Arena arena, String name, long[] shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        float[] v = random(n, name.hashCode());
        MemorySegment seg = arena.allocate(n * Float.BYTES, 64);
        MemorySegment.copy(v, 0, seg, ValueLayout.JAVA_FLOAT, 0, v.length);
        b.constant(new Tensor(name, shape, seg));
        return name;
    }

    /** @return the graph inputs' contents off-heap, in declaration order */
    private static MemorySegment[] inputs(Graph g, Map<String, float[]> inputs, Arena arena) {
        MemorySegment[] in = new MemorySegment[g.inputs().size()];
        int k = 0;
        for (String name : g.inputs().keySet()) {
            float[] v = inputs.get(name);
            in[k] = arena.allocate((long) v.length * Float.BYTES, 64);
            MemorySegment.copy(v, 0, in[k++], ValueLayout.JAVA_FLOAT, 0, v.length);
        }
        return in;
    }

    private static float[] run(CpuGraph cpu, Graph g, Map<String, float[]> inputs, Arena arena) {
        MemorySegment[] in = inputs(g, inputs, arena);
        Map<String, MemorySegment> outs = new LinkedHashMap<>();
        for (Map.Entry<String, Integer> o : g.outputs().entrySet()) {
            outs.put(o.getKey(), arena.allocate(g.value(o.getValue()).bytes(), 64));
        }
        cpu.run(in, outs.values().toArray(new MemorySegment[0]));
        return outs.values().iterator().next().toArray(ValueLayout.JAVA_FLOAT);
    }

    private static int indexOf(Graph g, String name) {
        List<Node> nodes = g.nodes();
        for (int i = 0; i < nodes.size(); i++) {
            if (nodes.get(i).name().equals(name)) {
                return i;
            }
        }
        throw new IllegalArgumentException(name);
    }

    private static float[] random(long n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[Math.toIntExact(n)];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) (r.nextGaussian() * 0.5);
        }
        return a;
    }

    private static void compare(float[] expected, float[] got) {
        assertEquals(expected.length, got.length);
        double scale = 0;
        for (float v : expected) {
            scale = Math.max(scale, Math.abs(v));
        }
        double bound = REL * scale;
        for (int i = 0; i < expected.length; i++) {
            int at = i;
            assertTrue(Math.abs((double) got[i] - expected[i]) <= bound,
                    () -> "element " + at + ": cpu " + got[at] + ", reference " + expected[at] + " (bound " + bound + ")");
        }
    }
}
