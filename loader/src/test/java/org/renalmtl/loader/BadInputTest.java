package org.renalmtl.loader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every bad file gets a one-line {@link VolumeInputException} that names it; nothing partial is written. */
class BadInputTest {

    @TempDir
    Path dir;

    private VolumeInputException refused(Path p, String expectedPart) {
        VolumeInputException e = assertThrows(VolumeInputException.class, () -> NiftiReader.read(p).close());
        assertOneLineNaming(e, p, expectedPart);
        return e;
    }

    private static void assertOneLineNaming(VolumeInputException e, Path p, String expectedPart) {
        String m = e.getMessage();
        assertTrue(m.startsWith(p.toString() + ": "), m);
        assertTrue(m.contains(expectedPart), m);
        assertFalse(m.contains("\n"), m);
    }

    private Path write(String name, byte[] bytes) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, bytes);
        return p;
    }

    @Test
    void truncatedGzipAndTruncatedRawFile() throws IOException {
        byte[] real = Files.readAllBytes(TestData.ct().resolve("example_ct_sm.nii.gz"));
        refused(write("cut.nii.gz", Arrays.copyOf(real, real.length / 2)), "truncated");
        refused(write("cut_header.nii.gz", Arrays.copyOf(real, 20)), "truncated");
        byte[] raw = new NiftiBytes().build();
        refused(write("cut.nii", Arrays.copyOf(raw, raw.length - 5)), "truncated");
    }

    @Test
    void corruptGzipData() throws IOException {
        byte[] real = Files.readAllBytes(TestData.ct().resolve("example_ct_sm.nii.gz"));
        byte[] bad = real.clone();
        for (int i = 2000; i < 2400; i++) {
            bad[i] ^= 0x5a;
        }
        VolumeInputException e = assertThrows(VolumeInputException.class, () -> NiftiReader.read(write("bad.nii.gz", bad)).close());
        assertTrue(e.getMessage().startsWith(dir.resolve("bad.nii.gz") + ": "), e.getMessage());
    }

    @Test
    void wrongMagicAndNotNifti() throws IOException {
        NiftiBytes nb = new NiftiBytes();
        nb.magic = "ab1\0";
        refused(write("magic.nii", nb.build()), "wrong NIfTI-1 magic");
        nb.version = 2;
        nb.magic = "n+2\0\n\r\032\n";
        refused(write("magic2.nii", nb.build()), "wrong NIfTI-2 magic");
        nb = new NiftiBytes();
        nb.magic = "ni1\0";
        refused(write("pair.nii", nb.build()), "not supported");
        refused(write("text.nii", "hello, this is not an image at all ..........".getBytes()), "not a NIfTI file");
        refused(dir.resolve("missing.nii.gz"), "file not found");
        refused(write("empty.nii", new byte[0]), "empty file");
    }

    @Test
    void absurdDimensionsAreRefusedBeforeAllocating() throws IOException {
        NiftiBytes nb = new NiftiBytes();
        nb.dim = new long[] {3, 32767, 32767, 32767, 1, 1, 1, 1}; // 3.5e13 voxels, 140 TB as float
        refused(write("huge1.nii.gz", NiftiBytes.gzip(nb.build())), "absurd dimensions");
        nb.version = 2;
        nb.dim = new long[] {3, 1L << 40, 1L << 40, 2, 1, 1, 1, 1};
        refused(write("huge2.nii", nb.build()), "absurd dimensions");
        // Within the voxel limit (1e9) but far more than a ~100-byte gzip file can expand to.
        nb.version = 1;
        nb.dim = new long[] {3, 1000, 1000, 1000, 1, 1, 1, 1};
        refused(write("big.nii.gz", NiftiBytes.gzip(nb.build())), "cannot hold");
        refused(write("big.nii", nb.build()), "truncated");
        nb.dim = new long[] {3, 4, -3, 2, 1, 1, 1, 1};
        refused(write("neg.nii", nb.build()), "must be at least 1");
        nb.dim = new long[] {4, 4, 3, 2, 5, 1, 1, 1};
        refused(write("4d.nii", nb.build()), "only 3-D volumes");
        // An explicit low limit: the check happens on the header alone.
        NiftiBytes small = new NiftiBytes();
        Path ok = write("ok.nii", small.build());
        VolumeInputException e = assertThrows(VolumeInputException.class, () -> NiftiReader.read(ok, 10).close());
        assertTrue(e.getMessage().contains("absurd dimensions"), e.getMessage());
    }

    @Test
    void nanAndInfiniteVoxelsAreRefused() throws IOException {
        for (double bad : new double[] {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY}) {
            NiftiBytes nb = new NiftiBytes();
            nb.type = NiftiDataType.FLOAT64;
            nb.order = ByteOrder.BIG_ENDIAN;
            nb.values[13] = bad; // x = 1, y = 0, z = 1
            refused(write("nan.nii.gz", NiftiBytes.gzip(nb.build())), "1 voxels are NaN or infinite (first at z,y,x = 1,0,1)");
        }
        // A finite float64 beyond float32's range becomes infinite on conversion: refused too.
        NiftiBytes nb = new NiftiBytes();
        nb.type = NiftiDataType.FLOAT64;
        nb.values[0] = 1e300;
        refused(write("overflow.nii", nb.build()), "NaN or infinite");
    }

    @Test
    void unsupportedDatatype() throws IOException {
        byte[] raw = new NiftiBytes().build();
        raw[70] = 32; // DT_COMPLEX64
        raw[71] = 0;
        refused(write("complex.nii", raw), "unsupported NIfTI datatype 32");
    }

    @Test
    void unwritableOutputPathsLeaveNothingBehind() throws IOException {
        try (Volume v = Volume.allocate(2, 3, 4, Geometry.axisAligned(new double[] {1, 1, 1}, new double[] {0, 0, 0}), "v")) {
            Path file = write("plain.txt", new byte[] {1});
            Path underFile = file.resolve("out.nii.gz"); // parent is a regular file
            VolumeInputException e = assertThrows(VolumeInputException.class, () -> NiftiWriter.writeMask(v, underFile));
            assertOneLineNaming(e, underFile, "cannot write");
            Path aDir = Files.createDirectory(dir.resolve("adir.nii.gz"));
            e = assertThrows(VolumeInputException.class, () -> NiftiWriter.writeFloat(v, aDir));
            assertOneLineNaming(e, aDir, "is a directory");
            assertEquals(List.of("adir.nii.gz", "plain.txt"), listing());
        }
    }

    @Test
    void failureWhileWritingRemovesTheTemporaryFileAndKeepsTheOldTarget() throws IOException {
        Path target = write("keep.nii.gz", new byte[] {42});
        Volume v = Volume.allocate(2, 3, 4, Geometry.axisAligned(new double[] {1, 1, 1}, new double[] {0, 0, 0}), "v");
        v.close(); // reading its voxels now fails half way through the write
        assertThrows(IllegalStateException.class, () -> NiftiWriter.writeFloat(v, target));
        assertEquals(List.of("keep.nii.gz"), listing());
        assertEquals(1, Files.size(target));
    }

    private List<String> listing() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
