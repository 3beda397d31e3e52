package org.renalmtl.engine.cuda;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.renalmtl.engine.Device;
import org.renalmtl.engine.LogCapture;
import org.renalmtl.engine.Model;
import org.renalmtl.engine.Precision;
import org.renalmtl.weights.ModelConfig;
import org.renalmtl.weights.SeededWeights;
import org.renalmtl.weights.Tensor;

/**
 * What runs on any machine: without a GPU, asking for CUDA fails with a clear reason instead of
 * crashing the JVM, {@code auto} falls back to the CPU with one logged line, and the probe's
 * answer is stable (the second touch of an unloadable JNI class throws a different error, which
 * the remembered answer must hide). Also the host-side weight reordering of the CUDA backend.
 * The two fallback tests skip on a GPU host (not through {@link RequireGpu}: a GPU there is no
 * fault) and carry the {@value RequireGpu#CPU_ONLY} tag.
 */
class CudaFallbackTest {
    @Test
    void probeIsStableAndExplained() {
        boolean first = CudaRuntime.available();
        String reason = CudaRuntime.reason();
        assertEquals(first, CudaRuntime.available());
        assertEquals(reason, CudaRuntime.reason());
        assertTrue(CudaRuntime.describe().length() > 0);
        if (!first) {
            assertEquals(0, CudaRuntime.deviceCount());
            assertTrue(reason.contains("LD_LIBRARY_PATH") || reason.contains("device") || reason.contains("driver"),
                    "the reason should say what is missing: " + reason);
        }
    }

    @Test
    @Tag(RequireGpu.CPU_ONLY)
    void cudaWithoutGpuIsAClearError() {
        Assumptions.assumeFalse(CudaRuntime.available(), "a GPU is present: the refusal path cannot be exercised");
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                () -> Model.load(Path.of("never-read.h5"), Device.parse("cuda")));
        assertTrue(e.getMessage().startsWith("device cuda:0: "), e.getMessage());
        assertTrue(e.getMessage().contains(CudaRuntime.reason()), e.getMessage());
        // Asking again must give the same answer, not a NoClassDefFoundError.
        UnsupportedOperationException again = assertThrows(UnsupportedOperationException.class,
                () -> Model.load(Path.of("never-read.h5"), Device.parse("cuda:1"), Precision.FP32));
        assertTrue(again.getMessage().startsWith("device cuda:1: "), again.getMessage());
    }

    @Test
    @Tag(RequireGpu.CPU_ONLY)
    void autoFallsBackToTheCpu() {
        Assumptions.assumeFalse(CudaRuntime.available(), "a GPU is present: auto picks it");
        ModelConfig config = GpuFixtures.config(GpuFixtures.CHANNELS);
        Arena arena = Arena.ofShared();
        Map<String, Tensor> tensors = SeededWeights.generate(config, 3, arena);
        try (LogCapture log = new LogCapture(Device.class); Model model = Model.of(config, tensors, arena, Device.AUTO)) {
            // A second model in the same process falls back silently: the line is said once.
            Model.of(config, tensors, null, Device.AUTO).close();
            List<LogRecord> said = log.records();
            assertEquals(Device.CPU, model.device());
            // Zero records if an earlier test in this JVM already fell back; never more than one.
            assertTrue(said.size() <= 1, () -> "at most one record: " + said.stream().map(LogRecord::getMessage).toList());
            for (LogRecord r : said) {
                assertEquals(Level.INFO, r.getLevel());
                assertEquals("no usable CUDA device; using the CPU (--device cuda says why)", r.getMessage());
            }
            int[] size = config.input().size();
            MemorySegment input = GpuFixtures.randomFloats(arena, (long) config.phases().size() * size[0] * size[1]
                    * size[2], 4);
            MemorySegment probs = arena.allocate((long) config.tasks().size() * 4, 64);
            model.forward(input, 1, probs);
            for (int t = 0; t < config.tasks().size(); t++) {
                float p = probs.getAtIndex(JAVA_FLOAT, t);
                assertTrue(p > 0 && p < 1, "probability " + p);
            }
        }
    }

    @Test
    void autoPicksTheGpuWhenPresent() {
        RequireGpu.device();
        ModelConfig config = GpuFixtures.config(GpuFixtures.CHANNELS);
        Arena arena = Arena.ofShared();
        try (Model model = Model.of(config, SeededWeights.generate(config, 3, arena), arena, Device.AUTO)) {
            assertEquals(Device.Kind.CUDA, model.device().kind());
        }
    }

    @Test
    void filtersReorderToChannelsLast() {
        int cout = 2;
        int cin = 3;
        int taps = 6; // a (2, 1, 3) kernel
        float[] w = new float[cout * cin * taps];
        for (int i = 0; i < w.length; i++) {
            w[i] = i + 1; // distinct, so any misplacement shows
        }
        float[] out = CudnnConv.channelsLastFilter(new Tensor("w", new long[] {cout, cin, 2, 1, 3},
                MemorySegment.ofArray(w)));
        float[] expected = new float[out.length];
        for (int o = 0; o < cout; o++) {
            for (int t = 0; t < taps; t++) {
                for (int c = 0; c < cin; c++) {
                    expected[(o * taps + t) * cin + c] = (o * cin + c) * taps + t + 1;
                }
            }
        }
        assertArrayEquals(expected, out);
    }
}
