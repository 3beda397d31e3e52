package org.renalmtl.loader.preprocess;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.renalmtl.loader.MaskSelection;
import org.renalmtl.loader.NiftiReader;
import org.renalmtl.loader.Resampler;
import org.renalmtl.loader.TestData;
import org.renalmtl.loader.Volume;

/**
 * Preprocessing the real CT with its left-kidney mask standing in for a tumour. The kidney mask's bounding box,
 * voxels (x, y, z) [23, 27, 0] .. [44, 49, 22], was printed by numpy ({@code np.argwhere(m).min(0)/.max(0)}).
 */
class RealCtPreprocessTest {

    @Test
    void kidneyRoiFromTheRealScan() {
        Path dir = TestData.ct();
        PreprocessingSpec spec = new PreprocessingSpec(new int[] {64, 64, 64}, new double[] {1.5, 1.5, 1.5}, 5,
            -150, 250, Normalisation.ZSCORE, 50, 100);
        try (Volume ct = NiftiReader.read(dir.resolve("example_ct_sm.nii.gz"));
             Volume mask = NiftiReader.read(dir.resolve("example_seg_fast_kidney_left.nii.gz"));
             Volume same = Resampler.resampleLike(ct, ct, Resampler.Interpolation.TRILINEAR, -1024f);
             PreprocessedInput in = Preprocessor.run(List.of(ct, same), mask, MaskSelection.largestComponent(), spec)) {
            Roi roi = in.roi();
            assertArrayEquals(new int[] {0, 27, 23}, roi.maskLo());
            assertArrayEquals(new int[] {22, 49, 44}, roi.maskHi());
            assertEquals(3676, roi.maskVoxels());
            // Box: (lo - 0.5) * 3 mm - 5 mm .. (hi + 0.5) * 3 mm + 5 mm, i.e. 79 x 79 x 76 mm (z, y, x) < 96 mm.
            assertFalse(in.scaledToFit());
            assertEquals(-0.5 - 5 / 3.0, roi.boxLo()[0], 1e-12);
            assertEquals(44.5 + 5 / 3.0, roi.boxHi()[2], 1e-12);
            // World box: affine x = 3 i - 177.956 etc.
            assertEquals(3 * (23 - 0.5) - 5 - 177.95632935, roi.worldMin()[0], 1e-6);
            assertEquals(3 * (22 + 0.5) + 5 + 94.30175781, roi.worldMax()[2], 1e-6);
            // The kidneys end below the first slice: the ROI box reaches 2.17 voxels below it, of which only
            // half a voxel counts as covered; so the coverage is below 1 but most of the box is there.
            double c = in.coverage()[0];
            assertTrue(c < 1 && c > 0.9, "coverage " + c);
            assertEquals(c, in.coverage()[1], 0);
            int[] s = in.shape();
            // Network voxel d = 0 lies at reference z = centre - 31.5 * 0.5 voxels < -0.5: outside the scan, so it
            // holds huLow, normalised: (-150 - 50) / 100.
            assertEquals(-2.0f, in.data().getAtIndex(ValueLayout.JAVA_FLOAT, ((0L * s[2]) + 32) * s[3] + 32), 0f);
            // The identical second phase gives identical input.
            long n = (long) s[1] * s[2] * s[3];
            for (long i = 0; i < n; i += 101) {
                assertEquals(in.data().getAtIndex(ValueLayout.JAVA_FLOAT, i), in.data().getAtIndex(ValueLayout.JAVA_FLOAT, n + i), 1e-6f);
            }
        }
    }
}
