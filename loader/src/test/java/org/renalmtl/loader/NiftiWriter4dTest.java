package org.renalmtl.loader;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * 4-D float32 files ({@link NiftiWriter#writeFloat4d}) read back by nibabel, an independent reader: shape
 * (x, y, z, n), dim, codes, sform, qform, units, descrip and every voxel of every volume. nibabel is installed
 * by run-tests and .ci/run (python3-nibabel), so its absence fails the test rather than skipping it.
 */
class NiftiWriter4dTest {

    @TempDir
    Path dir;

    /** NiftiWriterTest's grids: oblique LPS-like, and left-handed (qfac -1) tilted about x. */
    private static final Geometry OBLIQUE = NiftiWriterTest.G;
    private static final Geometry LEFT_HANDED = NiftiWriterTest.LEFT_HANDED;

    /** Prints what nibabel reads, one "key values..." line each; voxels as [n][z][y][x] in C order. */
    private static final String NIBABEL = String.join("\n",
            "import sys, nibabel as nib, numpy as np",
            "img = nib.load(sys.argv[1]); h = img.header; d = np.asanyarray(img.dataobj)",
            "print('shape', *d.shape)",
            "print('dtype', d.dtype)",
            "print('dim', *h['dim'])",
            "print('codes', int(h['qform_code']), int(h['sform_code']))",
            "print('units', *h.get_xyzt_units())",
            "print('sform', *h.get_sform().ravel())",
            "print('qform', *h.get_qform().ravel())",
            "print('descrip', h['descrip'].item().decode())",
            "print('values', *np.transpose(d, (3, 2, 1, 0)).ravel().astype(np.float64))");

    @Test
    void nibabelReadsShapeHeaderAffineAndEveryVoxel() throws IOException {
        for (String name : List.of("p.nii.gz", "p.nii", "left.nii.gz")) {
            Geometry g = name.startsWith("left") ? LEFT_HANDED : OBLIQUE;
            List<Volume> vs = volumes(3, g);
            try {
                Path p = dir.resolve(name);
                NiftiWriter.writeFloat4d(vs, p, "probabilities: background, kidney, tumor");
                Map<String, String[]> r = nibabel(p);
                assertArrayEquals(new String[] {"7", "6", "5", "3"}, r.get("shape"), name);
                assertEquals("float32", r.get("dtype")[0]);
                assertArrayEquals(new String[] {"4", "7", "6", "5", "3", "1", "1", "1"}, r.get("dim"), name);
                // The source's codes (qform takes the sform code where the grid has none), as for a 3-D file.
                assertArrayEquals(name.startsWith("left") ? new String[] {"2", "2"} : new String[] {"1", "1"},
                        r.get("codes"), name);
                assertArrayEquals(new String[] {"mm", "unknown"}, r.get("units"), "the fourth axis is not time");
                // sform: the affine as float32 (relative 6e-8 of 160 mm); qform: rebuilt from a quaternion.
                assertArrayEquals(g.affine(), doubles(r.get("sform")), 2e-5, name);
                assertArrayEquals(g.affine(), doubles(r.get("qform")), 1e-4, name);
                assertEquals("probabilities: background, kidney, tumor", String.join(" ", r.get("descrip")));
                double[] got = doubles(r.get("values"));
                int n = 0;
                for (Volume v : vs) {
                    for (long i = 0; i < v.voxelCount(); i++) {
                        assertEquals(v.get(i), (float) got[n++], 0f, name + " voxel " + n); // float32 both ways: exact
                    }
                }
                assertEquals(got.length, n);
            } finally {
                vs.forEach(Volume::close);
            }
        }
    }

    @Test
    void oneVolumeIsStillFourDimensional() throws IOException {
        List<Volume> vs = volumes(1, OBLIQUE);
        try {
            Path p = dir.resolve("one.nii.gz");
            NiftiWriter.writeFloat4d(vs, p, "");
            Map<String, String[]> r = nibabel(p);
            assertArrayEquals(new String[] {"7", "6", "5", "1"}, r.get("shape"));
            assertEquals("4", r.get("dim")[0]);
        } finally {
            vs.forEach(Volume::close);
        }
    }

    @Test
    void theReaderRefusesA4dFileByName() {
        List<Volume> vs = volumes(2, OBLIQUE);
        try {
            Path p = dir.resolve("two.nii.gz");
            NiftiWriter.writeFloat4d(vs, p, "");
            VolumeInputException e = assertThrows(VolumeInputException.class, () -> NiftiReader.read(p));
            assertTrue(e.getMessage().startsWith(p + ": 4-D image with dim[4] = 2"), e.getMessage());
        } finally {
            vs.forEach(Volume::close);
        }
    }

    @Test
    void volumesOnDifferentGridsAreRefusedAndNothingIsWritten() throws IOException {
        try (Volume a = Volume.allocate(5, 6, 7, OBLIQUE, "a");
                Volume b = Volume.allocate(5, 6, 7, LEFT_HANDED, "b");
                Volume c = Volume.allocate(5, 6, 8, OBLIQUE, "c")) {
            for (Volume other : List.of(b, c)) {
                assertThrows(IllegalArgumentException.class,
                        () -> NiftiWriter.writeFloat4d(List.of(a, other), dir.resolve("bad.nii.gz"), ""));
            }
            assertThrows(IllegalArgumentException.class, () -> NiftiWriter.writeFloat4d(List.of(), dir.resolve("bad.nii"), ""));
        }
        try (var files = Files.list(dir)) {
            assertEquals(0, files.count(), "no file, no temporary file");
        }
    }

    /** {@code count} volumes of 5 x 6 x 7 voxels; volume n holds sin(0.37 i) + 10 n, so a swapped order shows. */
    private static List<Volume> volumes(int count, Geometry g) {
        List<Volume> vs = new ArrayList<>();
        for (int n = 0; n < count; n++) {
            Volume v = Volume.allocate(5, 6, 7, g, "v" + n);
            for (long i = 0; i < v.voxelCount(); i++) {
                v.set(i, (float) Math.sin(i * 0.37) + 10 * n);
            }
            vs.add(v);
        }
        return vs;
    }

    private static double[] doubles(String[] s) {
        double[] d = new double[s.length];
        for (int i = 0; i < s.length; i++) {
            d[i] = Double.parseDouble(s[i]);
        }
        return d;
    }

    private Map<String, String[]> nibabel(Path file) throws IOException {
        Process p = new ProcessBuilder("/usr/bin/python3", "-c", NIBABEL, file.toString()).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            assertTrue(p.waitFor(120, TimeUnit.SECONDS), "nibabel timed out");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        assertEquals(0, p.exitValue(), () -> "/usr/bin/python3 with nibabel failed:\n" + out);
        Map<String, String[]> m = new HashMap<>();
        for (String line : out.split("\n")) {
            String[] w = line.trim().split("\\s+");
            m.put(w[0], java.util.Arrays.copyOfRange(w, 1, w.length));
        }
        return m;
    }
}
