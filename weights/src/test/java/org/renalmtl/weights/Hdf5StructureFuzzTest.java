package org.renalmtl.weights;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Fuzzes the reader's HDF5 structure and storage checks (hard links only, no cycles or aliases,
 * nesting, in-file unfiltered fully written storage, IEEE float32/16, tensor shapes, the config
 * attribute's type and dataspace) with Jazzer, on files that are always well-formed HDF5, built by
 * {@link FuzzedWeightFile} through the HDF5 C API. This tests our checks, not libhdf5's parser: a
 * mutated byte stream would mostly exercise libhdf5, and a native crash there (SIGSEGV) kills the
 * fuzzing JVM, which Jazzer cannot report as a finding.
 *
 * <p>The builder knows which rule each choice breaks, so the oracle is exact: a file breaking none
 * must load with exactly the values written (fill values where nothing was), a file breaking one
 * must be refused with a one-line {@link WeightFormatException} naming the file, and nothing else may
 * escape. Plain test runs replay
 * {@code src/test/resources/org/renalmtl/weights/Hdf5StructureFuzzTestInputs/<method>/}.
 */
class Hdf5StructureFuzzTest {
    private static final Path DIR = tempDir();
    private static final Path FILE = DIR.resolve("fuzz.h5");

    private static Path tempDir() {
        try {
            Path shm = Path.of("/dev/shm"); // memory-backed where there is one: thousands of files a minute
            Path d = Files.isDirectory(shm) && Files.isWritable(shm) ? Files.createTempDirectory(shm, "h5fuzz")
                    : Files.createTempDirectory("h5fuzz");
            d.toFile().deleteOnExit();
            return d;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @FuzzTest(maxDuration = "5m")
    void loadAcceptsExactlyTheFilesTheFormatAllows(FuzzedDataProvider data) throws IOException {
        FuzzedWeightFile built = FuzzedWeightFile.build(data, FILE, DIR);
        String what = String.join("\n  ", built.log);
        boolean mustLoad = built.refusals.isEmpty() && built.modelled;
        boolean mustRefuse = !built.refusals.isEmpty() && built.modelled;
        try (WeightFile wf = WeightFile.load(FILE)) {
            if (mustRefuse) {
                fail("loaded a file that breaks " + built.refusals + ":\n  " + what);
            }
            if (mustLoad) {
                assertEquals(built.config, wf.config().json(), what);
                assertEquals(built.values.keySet(), wf.tensors().keySet(), what);
                for (Map.Entry<String, float[]> e : built.values.entrySet()) {
                    assertArrayEquals(e.getValue(), wf.tensor(e.getKey()).toArray(), e.getKey() + "\n  " + what);
                }
            }
        } catch (WeightFormatException e) {
            String m = e.getMessage();
            assertTrue(m.startsWith(FILE + ": "), m);
            assertFalse(m.contains("\n") || m.contains("\r"), m);
            if (mustLoad) {
                fail("refused a file the format allows: " + m + "\n  " + what);
            }
        } finally {
            Files.deleteIfExists(FILE);
        }
    }
}
