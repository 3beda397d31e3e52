package org.renalmtl.loader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Fuzzes the NIfTI reader (header, gzip, voxels) with Jazzer. Whatever the bytes, reading ends in a volume or in
 * a one-line {@link VolumeInputException} naming the file: any other exception, an assertion failure or an
 * OutOfMemoryError is a finding. Plain test runs replay the inputs under
 * {@code src/test/resources/org/renalmtl/loader/NiftiReaderFuzzTestInputs/<method>/} (seeds and past findings);
 * loader/README.md says how to fuzz.
 */
class NiftiReaderFuzzTest {

    private static final String SRC = "fuzz.nii.gz";

    @FuzzTest(maxDuration = "5m")
    void readEndsInAVolumeOrABadInputError(byte[] file) {
        try (Volume v = NiftiReader.read(new ByteArrayInputStream(file), file.length, SRC, NiftiReader.DEFAULT_MAX_VOXELS)) {
            // A volume was read: its voxels are those the header declares, all finite, and no more than the
            // file can hold (one byte a voxel at least, deflate expanding 1032:1 at most): a volume sized by
            // garbage header fields would be allocated (and zeroed) before anything else could fail.
            NiftiHeader h = v.header().orElseThrow();
            assertEquals((long) h.nx() * h.ny() * h.nz(), v.voxelCount());
            assertTrue(v.voxelCount() <= 1032L * file.length, v.voxelCount() + " voxels from " + file.length + " bytes");
            for (long i = 0; i < v.voxelCount(); i++) {
                assertTrue(Float.isFinite(v.get(i)), "voxel " + i);
            }
        } catch (VolumeInputException e) {
            String m = e.getMessage();
            assertTrue(m.startsWith(SRC + ": "), m);
            assertFalse(m.contains("\n") || m.contains("\r"), m);
        }
    }

    /** The seed inputs are valid files (so fuzzing starts from reads that succeed), each a 4×3×2 volume. */
    @Test
    void seedsReadAsVolumes() throws IOException, URISyntaxException {
        Path dir = Path.of(getClass().getResource("NiftiReaderFuzzTestInputs/readEndsInAVolumeOrABadInputError").toURI());
        List<Path> seeds;
        try (Stream<Path> s = Files.list(dir)) {
            seeds = s.filter(p -> p.getFileName().toString().startsWith("seed_")).sorted().toList();
        }
        assertEquals(6, seeds.size(), seeds.toString());
        for (Path p : seeds) {
            try (Volume v = NiftiReader.read(p)) {
                assertEquals(24, v.voxelCount(), p.toString());
            }
        }
    }
}
