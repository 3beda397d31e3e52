package org.renalmtl.engine.cuda;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.MissingNode;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.renalmtl.engine.Device;
import org.renalmtl.engine.Model;
import org.renalmtl.engine.Precision;
import org.renalmtl.engine.cpu.CpuPlan;
import org.renalmtl.weights.ModelConfig;
import org.renalmtl.weights.SeededWeights;
import org.renalmtl.weights.Tensor;
import org.renalmtl.weights.WeightFile;
import org.renalmtl.weights.hdf5.Hdf5File;

/**
 * The whole model on the GPU against the CPU plan (itself checked against PyTorch) on seeded
 * weights, per precision, plus the plan's promises: no device allocation after creation, graph
 * replay equal to eager issue.
 *
 * <p>Tolerances on probabilities, absolute:
 * <ul>
 *   <li>FP32 1e-5: both sides are IEEE fp32 with different summation orders (cuDNN's algorithms
 *       vs oneDNN's), a few ulps per layer; the oracle test holds the CPU to 1e-5 of float64.
 *   <li>TF32 2e-3: products with a 10-bit mantissa (relative error 2^-11 ≈ 5e-4 per product,
 *       partly cancelling over the sums) through ~10 layers, then the sigmoid's slope ≤ 1/4.
 *   <li>FP16 1e-2: inputs rounded to half (same 10-bit mantissa as TF32, plus half's range) in
 *       every convolution; the bar PyTorch users accept for half-precision inference.
 * </ul>
 * Features are compared by relative L2 error with 10× the probability bar (features are not
 * squashed by a sigmoid).
 */
class CudaPlanTest {
    private static final int CASES = 2;

    /** Per test, so each one is reported as skipped with the reason (a class-level abort shows as 0 tests). */
    @BeforeEach
    void gpu() {
        RequireGpu.device();
    }

    static Stream<Arguments> cases() {
        Stream.Builder<Arguments> b = Stream.builder();
        for (String[] cfg : new String[][] {{"two networks (batch+PLE, separate+shortcut A)", GpuFixtures.TWO_NETWORKS},
            {"channels fusion, dilated", GpuFixtures.CHANNELS}}) {
            for (Object[] p : new Object[][] {{Precision.FP32, 1e-5}, {Precision.TF32, 2e-3}, {Precision.FP16, 1e-2}}) {
                b.add(Arguments.of(Named.of(cfg[0], cfg[1]), p[0], p[1]));
            }
        }
        return b.build();
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void matchesCpuPlan(String json, Precision precision, double tol) {
        RequireGpu.that(cpuBackendAvailable(), () -> "the CPU backend (oneDNN natives) is not on the class path "
                + "(benchmarks/gpu/make-bundle.sh packs dnnl-*-linux-x86_64.jar)");
        ModelConfig config = GpuFixtures.config(json);
        int[] size = config.input().size();
        int tasks = config.tasks().size();
        long inputN = (long) CASES * config.phases().size() * size[0] * size[1] * size[2];
        try (Arena arena = Arena.ofShared()) {
            Map<String, Tensor> tensors = SeededWeights.generate(config, 11, arena);
            MemorySegment input = GpuFixtures.randomFloats(arena, inputN, 12);
            MemorySegment cpu = arena.allocate((long) CASES * tasks * 4, 64);
            MemorySegment gpu = arena.allocate((long) CASES * tasks * 4, 64);
            float[][] cpuFeatures = new float[config.networks().size()][];
            try (CpuPlan plan = new CpuPlan(config, tensors, CASES, size)) {
                plan.forward(input, cpu);
                for (int i = 0; i < cpuFeatures.length; i++) {
                    cpuFeatures[i] = plan.features(i).toArray(JAVA_FLOAT);
                }
            }
            try (CudaPlan plan = new CudaPlan(config, tensors, CASES, size, 0, precision)) {
                plan.forward(input, gpu);
                for (int i = 0; i < CASES * tasks; i++) {
                    assertEquals(cpu.getAtIndex(JAVA_FLOAT, i), gpu.getAtIndex(JAVA_FLOAT, i), tol,
                            precision + " probability " + i + " (algorithms " + plan.convolutions() + ")");
                }
                for (int i = 0; i < cpuFeatures.length; i++) {
                    float[] g = plan.features(i).toArray(JAVA_FLOAT);
                    double rel = relL2(g, cpuFeatures[i]);
                    assertTrue(rel <= 10 * tol, precision + " network " + i + " features: relative L2 " + rel);
                }
            }
        }
    }

    @Test
    void noDeviceAllocationAfterCreationAndReplayEqualsEager() {
        ModelConfig config = GpuFixtures.config(GpuFixtures.TWO_NETWORKS);
        int[] size = config.input().size();
        int tasks = config.tasks().size();
        long inputN = (long) CASES * config.phases().size() * size[0] * size[1] * size[2];
        try (Arena arena = Arena.ofShared()) {
            Map<String, Tensor> tensors = SeededWeights.generate(config, 21, arena);
            MemorySegment a = GpuFixtures.randomFloats(arena, inputN, 22);
            MemorySegment b = GpuFixtures.randomFloats(arena, inputN, 23);
            MemorySegment replay = arena.allocate((long) CASES * tasks * 4, 64);
            MemorySegment eager = arena.allocate((long) CASES * tasks * 4, 64);
            MemorySegment other = arena.allocate((long) CASES * tasks * 4, 64);
            try (CudaPlan plan = new CudaPlan(config, tensors, CASES, size, 0, Precision.FP32)) {
                assertTrue(plan.ownDeviceBytes() > plan.activationBytes() + plan.weightBytes() - 1,
                        "own bytes cover arena and weights");
                assertTrue(plan.peakOwnDeviceBytes() >= plan.ownDeviceBytes());
                assertTrue(plan.memGetInfoDeltaBytes() >= plan.ownDeviceBytes(),
                        "cudaMemGetInfo delta " + plan.memGetInfoDeltaBytes() + " < own " + plan.ownDeviceBytes());
                plan.forward(a, replay); // settle anything lazy before counting
                long mallocs = CudaPlan.deviceMallocCount();
                long free = plan.freeDeviceBytes();
                for (int i = 0; i < 5; i++) {
                    plan.forward(i % 2 == 0 ? b : a, other);
                }
                assertEquals(mallocs, CudaPlan.deviceMallocCount(), "cudaMalloc calls during forwards");
                assertEquals(free, plan.freeDeviceBytes(), "free device memory changed across forwards");

                plan.forward(a, replay);
                plan.forwardEager(a, eager);
                // Same algorithms on the same data in the same order: equal unless an algorithm
                // is nondeterministic (split reductions with atomics), which would show as ~1e-7.
                for (int i = 0; i < CASES * tasks; i++) {
                    assertEquals(eager.getAtIndex(JAVA_FLOAT, i), replay.getAtIndex(JAVA_FLOAT, i), 1e-6,
                            "graph replay vs eager, probability " + i);
                }
                plan.forward(b, other);
                boolean differs = false;
                for (int i = 0; i < CASES * tasks; i++) {
                    differs |= other.getAtIndex(JAVA_FLOAT, i) != replay.getAtIndex(JAVA_FLOAT, i);
                }
                assertTrue(differs, "replay must read the new input, not a captured copy");
                float[] ms = plan.timeReplays(2, 5);
                for (float m : ms) {
                    assertTrue(m > 0 && m < 60_000, "event time " + m + " ms");
                }
            }
        }
    }

    @Test
    void modelRunsOnCudaThroughTheExecutionPlanContract() {
        ModelConfig config = GpuFixtures.config(GpuFixtures.CHANNELS);
        int[] size = config.input().size();
        int tasks = config.tasks().size();
        Arena arena = Arena.ofShared();
        Map<String, Tensor> tensors = SeededWeights.generate(config, 31, arena);
        try (Model model = Model.of(config, tensors, arena, Device.cuda(0))) {
            assertEquals(Device.Kind.CUDA, model.device().kind());
            MemorySegment input = GpuFixtures.randomFloats(arena, (long) config.phases().size() * size[0] * size[1]
                    * size[2], 32);
            MemorySegment probs = arena.allocate((long) tasks * 4, 64);
            model.forward(input, 1, probs);
            for (int t = 0; t < tasks; t++) {
                float p = probs.getAtIndex(JAVA_FLOAT, t);
                assertTrue(p >= 0 && p <= 1, "probability " + p);
            }
        }
    }

    @Test
    void bf16IsRefusedWithAReason() {
        ModelConfig config = GpuFixtures.config(GpuFixtures.CHANNELS);
        try (Arena arena = Arena.ofShared()) {
            Map<String, Tensor> tensors = SeededWeights.generate(config, 41, arena);
            UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                    () -> new CudaPlan(config, tensors, 1, config.input().size(), 0, Precision.BF16));
            assertTrue(e.getMessage().contains("bf16"), e.getMessage());
        }
    }

    /** @return whether oneDNN's natives load (its 26 MB natives jar must be on the class path) */
    private static boolean cpuBackendAvailable() {
        try {
            org.bytedeco.javacpp.Loader.load(org.bytedeco.dnnl.global.dnnl.class);
            return true;
        } catch (UnsatisfiedLinkError | NoClassDefFoundError | ExceptionInInitializerError e) {
            return false;
        }
    }

    /** Fixture cases of {@code weights/export/make_fixtures.py}, when {@code renalmtl.fixtures} names them. */
    static Stream<Arguments> fixtures() throws IOException {
        String dir = System.getProperty("renalmtl.fixtures");
        Path manifest = dir == null ? null : Path.of(dir, "manifest.json");
        if (manifest == null || !Files.isRegularFile(manifest)) {
            return Stream.of(Arguments.of(Named.of("no fixtures", (JsonNode) MissingNode.getInstance()), Precision.FP32, 0.0));
        }
        JsonNode cases = new ObjectMapper().readTree(manifest.toFile()).get("cases");
        Stream.Builder<Arguments> b = Stream.builder();
        int k = 0;
        for (JsonNode c : cases) {
            b.add(Arguments.of(Named.of(c.get("case").asText(), c), Precision.FP32, 1e-5));
            // Reduced precisions on the most important cases (the manifest lists them first) and on
            // the paper-size ones (run.sh asks for them), so the suite fits the GPU run's time budget.
            if (k++ < 8 || c.get("case").asText().startsWith("paper_")) {
                b.add(Arguments.of(Named.of(c.get("case").asText(), c), Precision.TF32, 2e-3));
                b.add(Arguments.of(Named.of(c.get("case").asText(), c), Precision.FP16, 1e-2));
            }
        }
        return b.build();
    }

    /**
     * The GPU against PyTorch in float64 on the fixture matrix (the same oracle as the CPU's
     * {@code PyTorchOracleTest}; benchmarks/gpu/run.sh makes the fixtures on the GPU host). The
     * bar is this class's per-precision bar, scaled up where the random network itself amplifies
     * rounding: by how far PyTorch's own fp32 result is from float64, relative to 1e-5 (deep
     * random R50s amplify a few ulps per layer into more than the bar for every fp32 engine;
     * TF32/FP16 rounding is amplified by the same network the same way).
     */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("fixtures")
    void matchesPyTorch(JsonNode c, Precision precision, double bar) {
        RequireGpu.that(!c.isMissingNode(), () -> "system property renalmtl.fixtures does not name a fixture directory "
                + "(Maven sets it; run.sh makes one with weights/export/make_fixtures.py)");
        Path dir = Path.of(System.getProperty("renalmtl.fixtures"));
        int batch = c.get("batch").asInt();
        int[] size = {c.get("input_size").get(0).asInt(), c.get("input_size").get(1).asInt(),
            c.get("input_size").get(2).asInt()};
        try (WeightFile wf = WeightFile.load(dir.resolve(c.get("model").asText()));
                Hdf5File io = Hdf5File.open(dir.resolve(c.get("io").asText()));
                Arena arena = Arena.ofConfined()) {
            float[] input = io.readFloats("input");
            float[] expected = io.readFloats("probabilities_f64");
            double torchErr = maxAbsDiff(io.readFloats("probabilities"), expected);
            double tol = bar * Math.max(1, 2 * torchErr / 1e-5);
            MemorySegment in = arena.allocate((long) input.length * Float.BYTES, 64);
            MemorySegment.copy(input, 0, in, JAVA_FLOAT, 0, input.length);
            MemorySegment probs = arena.allocate((long) expected.length * Float.BYTES, 64);
            try (CudaPlan plan = new CudaPlan(wf.config(), wf.tensors(), batch, size, 0, precision)) {
                plan.forward(in, probs);
                float[] got = probs.toArray(JAVA_FLOAT);
                for (int i = 0; i < got.length; i++) {
                    assertEquals(expected[i], got[i], tol, precision + " probability " + i + " (PyTorch fp32 error "
                            + torchErr + ", algorithms " + plan.convolutions() + ")");
                }
            }
        }
    }

    private static double maxAbsDiff(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }

    private static double relL2(float[] a, float[] e) {
        double err = 0;
        double ref = 0;
        for (int i = 0; i < e.length; i++) {
            err += Math.pow(a[i] - e[i], 2);
            ref += Math.pow(e[i], 2);
        }
        return Math.sqrt(err / Math.max(ref, 1e-30));
    }
}
