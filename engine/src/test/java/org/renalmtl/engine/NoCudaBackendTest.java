package org.renalmtl.engine;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;
import java.util.ServiceLoader;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import org.junit.jupiter.api.Test;
import org.renalmtl.engine.spi.BackendProvider;

/**
 * The engine alone, as a CPU-only user gets it (this module's class path has no engine-cuda):
 * {@code cuda} is refused naming the missing artifact, before the weight file is read, and
 * {@code auto} runs on the CPU with one logged line per process.
 */
class NoCudaBackendTest {
    private static final String MISSING = "the CUDA backend is not on the class path (add the artifact "
            + "org.renalmtl:engine-cuda)";

    @Test
    void noBackendIsOnTheClassPath() {
        // If engine-cuda ever reached this module's class path, the tests below would test nothing.
        assertEquals(0, ServiceLoader.load(BackendProvider.class).stream().count());
        assertNull(Backends.find(Device.Kind.CUDA));
    }

    @Test
    void cudaIsRefusedNamingTheArtifact() {
        // The file does not exist: the device is checked first, so this is the error, not a missing file.
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                () -> Model.load(Path.of("never-read.h5"), Device.cuda(0)));
        assertEquals("device cuda:0: " + MISSING, e.getMessage());
        UnsupportedOperationException again = assertThrows(UnsupportedOperationException.class,
                () -> Model.load(Path.of("never-read.h5"), Device.parse("cuda:3"), Precision.FP16));
        assertEquals("device cuda:3: " + MISSING, again.getMessage());
    }

    @Test
    void autoRunsOnTheCpuAndSaysSoOnce() {
        int[] size = {32, 32, 32};
        try (LogCapture log = new LogCapture(Device.class);
                Model model = BuiltinModels.create(BuiltinModels.Kind.MTDL, 7, Device.AUTO);
                Arena arena = Arena.ofConfined()) {
            // A second model in the same process falls back silently: the line is said once.
            BuiltinModels.create(BuiltinModels.Kind.MTDL, 8, Device.AUTO).close();
            List<LogRecord> said = log.records();
            assertEquals(Device.CPU, model.device());
            // Zero records if an earlier test in this JVM already fell back; never more than one.
            assertTrue(said.size() <= 1, () -> "at most one record: " + said.stream().map(LogRecord::getMessage).toList());
            for (LogRecord r : said) {
                assertEquals(Level.INFO, r.getLevel());
                assertEquals("the CUDA backend is not on the class path; using the CPU", r.getMessage());
            }
            int tasks = model.config().tasks().size();
            MemorySegment in = arena.allocate(3L * size[0] * size[1] * size[2] * Float.BYTES, 64);
            MemorySegment probs = arena.allocate((long) tasks * Float.BYTES, 64);
            model.forward(in, 1, size, probs);
            for (int t = 0; t < tasks; t++) {
                float p = probs.getAtIndex(JAVA_FLOAT, t);
                assertTrue(p > 0 && p < 1, "probability " + p);
            }
        }
    }
}
