package org.renalmtl.engine.graph;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.renalmtl.engine.CompiledGraph;
import org.renalmtl.engine.Device;
import org.renalmtl.engine.Graphs;
import org.renalmtl.engine.Precision;
import org.renalmtl.engine.cpu.CpuGraph;
import org.renalmtl.weights.SegmentationConfig;
import org.renalmtl.weights.Tensor;

/**
 * {@link UNetBuilder} on tiny configs that reach every branch (anisotropic kernels and strides, every
 * BasicBlockD skip, no bias, no affine norm): the graph's names and shapes, the AvgPool3d fold against
 * pooling then convolving computed here, and the CPU backend against the float64 {@link Reference}.
 * The comparison with PyTorch itself is {@code UNetPyTorchTest}, on the exporter's fixtures.
 */
class UNetBuilderTest {
    /**
     * CPU (oneDNN, float32) against the Reference (float64, rounded per op) over a whole tiny U-Net:
     * each op is within 1e-5 relative of its reference (GraphsTest's per-op bound); about 12 ops in a
     * chain, each InstanceNorm renormalising its input to unit scale, so errors add rather than grow:
     * 12 · 1e-5 ≈ 1.2e-4, rounded up to 2e-4 of the largest logit. Measured: 6.3e-7 (plain), 7.8e-7
     * (residual), 3.0e-7 (no affine) of the largest logit.
     */
    private static final OracleBound WHOLE_NET = new OracleBound(2e-4, 1e-6,
            "≈12 chained ops each within 1e-5 relative, renormalised by every InstanceNorm");

    @Test
    void nodesAreNamedByModulePathAndShapesFollowTheConfig() {
        try (Arena arena = Arena.ofConfined()) {
            SegmentationConfig cfg = TinyUNets.plain();
            Graph g = UNetBuilder.build(cfg, TinyUNets.weights(cfg, arena, 1), 2);
            List<String> names = g.nodes().stream().map(Node::name).toList();
            assertEquals(List.of("encoder.stages.0.0.convs.0.conv", "encoder.stages.0.0.convs.0",
                    "encoder.stages.0.0.convs.1.conv", "encoder.stages.0.0.convs.1", "encoder.stages.1.0.convs.0.conv",
                    "encoder.stages.1.0.convs.0", "encoder.stages.2.0.convs.0.conv", "encoder.stages.2.0.convs.0",
                    "encoder.stages.2.0.convs.1.conv", "encoder.stages.2.0.convs.1", "decoder.transpconvs.0",
                    "decoder.concat.0", "decoder.stages.0.convs.0.conv", "decoder.stages.0.convs.0", "decoder.transpconvs.1",
                    "decoder.concat.1", "decoder.stages.1.convs.0.conv", "decoder.stages.1.convs.0",
                    "decoder.stages.1.convs.1.conv", "decoder.stages.1.convs.1", "decoder.seg_layers.1"), names);
            assertArrayEquals(new long[] {2, 2, 4, 8, 8}, g.value(g.inputs().get(UNetBuilder.INPUT)).shape());
            assertArrayEquals(new long[] {2, 3, 4, 8, 8}, g.value(g.outputs().get(UNetBuilder.OUTPUT)).shape());
            Op.Conv3d first = (Op.Conv3d) g.nodes().get(0).op();
            assertEquals(Dims3.of(new int[] {0, 1, 1}), first.padding(), "kernel [1,3,3] pads [0,1,1]");
            Op.InstanceNorm3d norm = (Op.InstanceNorm3d) g.nodes().get(1).op();
            assertEquals(Activation.leakyRelu(0.01f), norm.activation());
            assertEquals(1e-5f, norm.eps());
            // The bottleneck of a [4,8,8] patch after strides [1,2,2] and [2,2,2]; the upsampled comes first.
            Node cat = g.nodes().get(11);
            assertArrayEquals(new long[] {2, 8, 2, 2, 2}, g.value(g.nodes().get(9).output()).shape());
            assertEquals(g.nodes().get(10).output(), cat.inputs()[0]);
            assertEquals(g.nodes().get(5).output(), cat.inputs()[1]);
        }
    }

    @Test
    void residualBlocksTakeEverySkipAndEndInAnAdd() {
        try (Arena arena = Arena.ofConfined()) {
            SegmentationConfig cfg = TinyUNets.residual();
            Graph g = UNetBuilder.build(cfg, TinyUNets.weights(cfg, arena, 2), 1);
            Map<String, Node> byName = new HashMap<>();
            g.nodes().forEach(n -> byName.put(n.name(), n));
            assertTrue(byName.containsKey("encoder.stem.convs.0"));
            assertTrue(byName.containsKey("encoder.stages.1.blocks.0.skip.0.conv"), "projection without stride");
            assertTrue(!byName.containsKey("encoder.stages.1.blocks.1.skip.0.conv"), "identity in a stage's later block");
            Op.Conv3d folded = (Op.Conv3d) byName.get("encoder.stages.2.blocks.0.skip.1.conv").op();
            assertEquals("encoder.stages.2.blocks.0.skip.1.conv.weight" + UNetBuilder.POOLED, folded.weight());
            assertArrayEquals(new long[] {8, 6, 1, 2, 2}, g.constant(folded.weight()).shape());
            Op.Conv3d pool = (Op.Conv3d) byName.get("encoder.stages.3.blocks.0.skip.0").op();
            assertEquals(Dims3.of(2), pool.stride());
            Node add = byName.get("encoder.stages.3.blocks.0");
            assertEquals(new Op.Add(Activation.leakyRelu(0.01f)), add.op());
            assertEquals(byName.get("encoder.stages.3.blocks.0.conv2").output(), add.inputs()[0]);
            assertEquals(byName.get("encoder.stages.3.blocks.0.skip.0").output(), add.inputs()[1]);
            assertEquals(Activation.NONE, ((Op.InstanceNorm3d) byName.get("encoder.stages.3.blocks.0.conv2").op()).activation());
        }
    }

    /** The synthesised skip convolutions against AvgPool3d(k = s) then the 1³ conv, computed here in double. */
    @Test
    void avgPoolFoldsEqualPoolingThenConvolving() {
        try (Arena arena = Arena.ofConfined()) {
            SegmentationConfig cfg = TinyUNets.residual();
            Map<String, Tensor> w = TinyUNets.weights(cfg, arena, 3);
            Graph g = UNetBuilder.build(cfg, w, 2);
            float[][] all = Reference.runAll(g, Map.of(UNetBuilder.INPUT, TinyUNets.input(2 * 4 * 8 * 8, 4)));
            for (String[] c : new String[][] {{"encoder.stages.2.blocks.0.skip.1.conv", "encoder.stages.2.blocks.0.skip.1.conv.weight"},
                    {"encoder.stages.3.blocks.0.skip.0", null}}) {
                Node n = g.nodes().stream().filter(x -> x.name().equals(c[0])).findFirst().orElseThrow();
                long[] xs = g.value(n.inputs()[0]).shape();
                long[] ys = g.value(n.output()).shape();
                float[] x = all[n.inputs()[0]];
                float[] y = all[n.output()];
                int[] s = {(int) (xs[2] / ys[2]), (int) (xs[3] / ys[3]), (int) (xs[4] / ys[4])};
                float[] proj = c[1] == null ? null : w.get(c[1]).toArray();
                double worst = 0;
                for (int b = 0; b < ys[0]; b++) {
                    for (int o = 0; o < ys[1]; o++) {
                        for (int z = 0; z < ys[2]; z++) {
                            for (int yy = 0; yy < ys[3]; yy++) {
                                for (int xx = 0; xx < ys[4]; xx++) {
                                    double sum = 0;
                                    for (int i = 0; i < xs[1]; i++) {
                                        double coef = proj == null ? (i == o ? 1 : 0) : proj[(int) (o * xs[1] + i)];
                                        double pooled = 0;
                                        for (int dz = 0; dz < s[0]; dz++) {
                                            for (int dy = 0; dy < s[1]; dy++) {
                                                for (int dx = 0; dx < s[2]; dx++) {
                                                    pooled += x[(int) ((((b * xs[1] + i) * xs[2] + z * s[0] + dz) * xs[3]
                                                            + yy * s[1] + dy) * xs[4] + xx * s[2] + dx)];
                                                }
                                            }
                                        }
                                        sum += coef * pooled / (s[0] * s[1] * s[2]);
                                    }
                                    int at = (int) ((((b * ys[1] + o) * ys[2] + z) * ys[3] + yy) * ys[4] + xx);
                                    worst = Math.max(worst, Math.abs(y[at] - sum) / (Math.abs(sum) + 1e-3));
                                }
                            }
                        }
                    }
                }
                // The fold divides the weight by s³ in float32 (exact for s³ = 4 or 8): the Reference then
                // computes in double and rounds once, so only float32 rounding of the result remains.
                assertTrue(worst < 1e-6, c[0] + ": relative error " + worst);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"plain", "residual", "plainNoAffine"})
    void everyTinyUNetRunsOnTheCpuAsTheReferenceComputesIt(String which) {
        SegmentationConfig cfg = tiny(which);
        {
            try (Arena arena = Arena.ofConfined()) {
                Graph g = UNetBuilder.build(cfg, TinyUNets.weights(cfg, arena, 5), 2);
                long[] in = g.value(g.inputs().get(UNetBuilder.INPUT)).shape();
                float[] x = TinyUNets.input(in[0] * in[1] * in[2] * in[3] * in[4], 6);
                float[] expected = Reference.run(g, Map.of(UNetBuilder.INPUT, x)).get(UNetBuilder.OUTPUT);
                MemorySegment out = arena.allocate(g.value(g.outputs().get(UNetBuilder.OUTPUT)).bytes(), 64);
                try (CompiledGraph c = Graphs.compile(g, Device.CPU, Precision.FP32)) {
                    c.run(new MemorySegment[] {arena.allocateFrom(ValueLayout.JAVA_FLOAT, x)}, new MemorySegment[] {out});
                }
                WHOLE_NET.check(which, "cpu",
                        expected, out.toArray(ValueLayout.JAVA_FLOAT));
            }
        }
    }

    /**
     * The CPU executor node by node against the Reference, so that a wrong kernel is named: relative L2
     * of each node's output within 1e-4 (float32 rounding through at most 20 nodes; NodeByNodeTest
     * measures 7.2e-5 at worst over deeper classifiers).
     */
    @ParameterizedTest
    @ValueSource(strings = {"plain", "residual", "plainNoAffine"})
    void everyNodeOnTheCpuMatchesTheReference(String which) {
        SegmentationConfig cfg = tiny(which);
        try (Arena arena = Arena.ofConfined()) {
            Graph g = UNetBuilder.build(cfg, TinyUNets.weights(cfg, arena, 5), 2);
            long[] in = g.value(g.inputs().get(UNetBuilder.INPUT)).shape();
            float[] x = TinyUNets.input(in[0] * in[1] * in[2] * in[3] * in[4], 6);
            float[][] expected = Reference.runAll(g, Map.of(UNetBuilder.INPUT, x));
            try (CpuGraph cpu = CpuGraph.compile(g)) {
                cpu.runVisiting(new MemorySegment[] {arena.allocateFrom(ValueLayout.JAVA_FLOAT, x)}, (i, out) -> {
                    Node n = g.nodes().get(i);
                    double rel = OracleBound.relativeL2(out, expected[n.output()]);
                    assertTrue(rel <= 1e-4, () -> which + ": the first node that differs is " + n.name() + " (" + n.op()
                            + "): relative L2 " + rel);
                    return true;
                });
            }
        }
    }

    /**
     * No kernel writes past the arena or the workspace it was given: a batch of two makes every concat
     * slice strided across samples, where oneDNN's deconvolution once ran past its scratchpad and
     * corrupted the heap (a JVM crash at close). Guard bytes after both must survive a run.
     */
    @Test
    void noKernelWritesPastItsArenaOrWorkspace() {
        SegmentationConfig cfg = TinyUNets.plain();
        try (Arena arena = Arena.ofConfined()) {
            Graph g = UNetBuilder.build(cfg, TinyUNets.weights(cfg, arena, 5), 2);
            long[] in = g.value(g.inputs().get(UNetBuilder.INPUT)).shape();
            float[] x = TinyUNets.input(in[0] * in[1] * in[2] * in[3] * in[4], 6);
            int guard = 1 << 16;
            try (CpuGraph cpu = CpuGraph.prepare(g)) {
                long ab = Math.max(cpu.arenaBytes(), 64);
                long wb = Math.max(cpu.workspaceBytes(), 64);
                MemorySegment act = arena.allocate(ab + guard, 64).fill((byte) 0x55);
                MemorySegment ws = arena.allocate(wb + guard, 64).fill((byte) 0x55);
                cpu.bind(act.asSlice(0, ab), ws.asSlice(0, wb));
                cpu.runVisiting(new MemorySegment[] {arena.allocateFrom(ValueLayout.JAVA_FLOAT, x)}, (i, out) -> {
                    for (long o = 0; o < guard; o++) {
                        long at = o;
                        assertTrue(act.get(ValueLayout.JAVA_BYTE, ab + o) == 0x55 && ws.get(ValueLayout.JAVA_BYTE, wb + o) == 0x55,
                                () -> g.nodes().get(i).name() + " wrote " + at + " bytes past its arena or workspace");
                    }
                    return true;
                });
            }
        }
    }

    private static SegmentationConfig tiny(String which) {
        return switch (which) {
            case "plain" -> TinyUNets.plain();
            case "residual" -> TinyUNets.residual();
            default -> TinyUNets.plainNoAffine();
        };
    }

    @Test
    void aMissingTensorOrAPatchOffTheStridesIsNamed() {
        try (Arena arena = Arena.ofConfined()) {
            SegmentationConfig cfg = TinyUNets.plain();
            Map<String, Tensor> w = new HashMap<>(TinyUNets.weights(cfg, arena, 7));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> UNetBuilder.build(cfg, w, 1, new int[] {4, 6, 8}));
            assertTrue(e.getMessage().contains("multiple of the strides' product [2, 4, 4]"), e.getMessage());
            w.remove("decoder.transpconvs.1.bias");
            e = assertThrows(IllegalArgumentException.class, () -> UNetBuilder.build(cfg, w, 1));
            assertTrue(e.getMessage().contains("decoder.transpconvs.1.bias"), e.getMessage());
        }
    }
}
