package org.renalmtl.loader;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** 26-connected components against scipy.ndimage.label (structure 3×3×3 of ones), and the tie rule. */
class ConnectedComponentsTest {

    @TempDir
    Path dir;

    /** scipy's labels of the non-zero voxels, as [z][y][x] in C order, one number a line. */
    private static final String SCIPY = String.join("\n",
            "import sys, nibabel as nib, numpy as np, scipy.ndimage as ndi",
            "a = np.asanyarray(nib.load(sys.argv[1]).dataobj).transpose(2, 1, 0) != 0",
            "lab, n = ndi.label(a, structure=np.ones((3, 3, 3)))",
            "print(n)",
            "print('\\n'.join(map(str, lab.ravel())))");

    @Test
    void sameComponentsAsScipy() throws IOException {
        // Sparse random voxels (12 %) on an anisotropic box: many components, many joined only by an edge
        // or a corner, which 6-connectivity would split.
        SplittableRandom rnd = new SplittableRandom(11);
        Geometry g = Geometry.axisAligned(new double[] {0.8, 0.8, 2.5}, new double[] {0, 0, 0});
        try (Volume v = Volume.allocate(13, 17, 20, g, "random")) {
            for (long i = 0; i < v.voxelCount(); i++) {
                v.set(i, rnd.nextDouble() < 0.12 ? 1 + rnd.nextInt(3) : 0);
            }
            Path f = dir.resolve("random.nii.gz");
            NiftiWriter.writeMask(v, f);
            String[] out = python(f).split("\n");
            int scipyCount = Integer.parseInt(out[0].trim());
            ConnectedComponents cc = ConnectedComponents.of(v, label -> label != 0);
            assertTrue(scipyCount > 50, "the test needs many components, got " + scipyCount);
            assertEquals(scipyCount, cc.count());
            // The same partition: scipy's label and ours correspond one to one over every voxel.
            Map<Integer, Integer> ours = new HashMap<>();
            Map<Integer, Integer> theirs = new HashMap<>();
            for (long i = 0; i < v.voxelCount(); i++) {
                int s = Integer.parseInt(out[(int) i + 1].trim());
                int c = cc.componentAt(i);
                assertEquals(s == 0, c < 0, "voxel " + i);
                if (s != 0) {
                    assertEquals(c, ours.computeIfAbsent(s, k -> c), "voxel " + i);
                    assertEquals(s, theirs.computeIfAbsent(c, k -> s), "voxel " + i);
                }
            }
            int sum = 0;
            for (int c = 0; c < cc.count(); c++) {
                sum += cc.size(c);
                assertEquals(cc.size(c), cc.voxels(c).length);
            }
            assertEquals(cc.voxelCount(), sum);
        }
    }

    @Test
    void labelsAreChosenByRoundedValueAndTiesGoToTheFirstInScanOrder() {
        Geometry g = Geometry.axisAligned(new double[] {1, 1, 1}, new double[] {0, 0, 0});
        try (Volume v = Volume.allocate(1, 3, 7, g, "ties")) {
            // Row 0: two 2-voxel blobs of label 2 (one written as 1.6); row 2: a 2-voxel blob of label 3.
            float[] row0 = {2, 1.6f, 0, 0, 0, 2, 2};
            for (int x = 0; x < 7; x++) {
                v.set(0, 0, x, row0[x]);
            }
            v.set(0, 2, 0, 3);
            v.set(0, 2, 1, 3);
            ConnectedComponents two = ConnectedComponents.of(v, label -> label == 2);
            assertEquals(2, two.count());
            assertEquals(0, two.largest(), "equal sizes: the first in scan order");
            assertArrayEquals(new long[] {0, 1}, two.voxels(two.largest()));
            assertEquals(1, two.componentAt(6));
            assertEquals(-1, two.componentAt(14));
            ConnectedComponents both = ConnectedComponents.of(v, label -> label == 2 || label == 3);
            assertEquals(3, both.count(), "row 1 is empty: row 2's blob touches nothing");
            ConnectedComponents none = ConnectedComponents.of(v, label -> label == 9);
            assertEquals(0, none.count());
            assertEquals(-1, none.largest());
        }
    }

    private static String python(Path file) throws IOException {
        Process p = new ProcessBuilder("/usr/bin/python3", "-c", SCIPY, file.toString()).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            assertTrue(p.waitFor(120, TimeUnit.SECONDS), "scipy timed out");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        assertEquals(0, p.exitValue(), () -> "/usr/bin/python3 with nibabel and scipy failed:\n" + out);
        return out;
    }
}
