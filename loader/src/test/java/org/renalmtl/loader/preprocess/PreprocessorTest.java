package org.renalmtl.loader.preprocess;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.renalmtl.loader.Geometry;
import org.renalmtl.loader.MaskSelection;
import org.renalmtl.loader.NiftiReader;
import org.renalmtl.loader.Resampler;
import org.renalmtl.loader.Volume;
import org.renalmtl.loader.VolumeInputException;
import org.renalmtl.loader.phantom.Phantom;
import org.renalmtl.loader.phantom.PhantomCase;
import org.renalmtl.loader.phantom.PhantomOptions;
import org.renalmtl.loader.phantom.PhantomTruth;

/** ROI extraction, resampling and normalisation on noise-free phantoms, where every value is known exactly. */
class PreprocessorTest {

    @TempDir
    Path dir;

    private static final PreprocessingSpec WINDOW = new PreprocessingSpec(new int[] {64, 64, 64}, new double[] {1, 1, 1},
        10, -200, 300, Normalisation.WINDOW, 0, 1);

    private static float at(PreprocessedInput in, int p, int d, int h, int w) {
        int[] s = in.shape();
        return in.data().getAtIndex(ValueLayout.JAVA_FLOAT, (((long) p * s[1] + d) * s[2] + h) * s[3] + w);
    }

    @Test
    void roiIsCentredOnTheTumourAndValuesAreWindowed() {
        try (PhantomCase c = Phantom.generate(1, PhantomOptions.defaults().withNoise(0));
             PreprocessedInput in = Preprocessor.run(c.phases(), c.tumourMask(), MaskSelection.largestComponent(), WINDOW)) {
            assertArrayEquals(new int[] {3, 64, 64, 64}, in.shape());
            assertFalse(in.scaledToFit()); // 42 mm + 2 x 10 mm margin fits in 64 mm
            assertArrayEquals(new double[] {1, 1, 1}, in.spacingMm(), 0);
            assertArrayEquals(new double[] {1, 1, 1}, in.coverage(), 0);
            PhantomTruth t = c.truth();
            // The grid centre lies at the centre of the voxelised tumour's bounding box: within one voxel
            // (0.8, 0.8, 2.5 mm) of the analytic centre on each axis.
            double[] centre = in.geometry().toWorld(31.5, 31.5, 31.5);
            double[] tol = {0.8, 0.8, 2.5};
            for (int a = 0; a < 3; a++) {
                assertEquals(t.centreMm()[a], centre[a], tol[a], "axis " + a);
            }
            // Network axes follow the reference voxel axes (LPS here): w along -x, h along -y, d along +z, 1 mm.
            assertArrayEquals(new double[] {-1, 0, 0, 0, 0, -1, 0, 0, 0, 0, 1, 0}, nonTranslation(in), 1e-12);
            // Noise-free: the tumour centre is pure tumour in every phase, so the value is exact up to float32.
            double[] hu = t.enhancementHu();
            for (int p = 0; p < 3; p++) {
                assertEquals((hu[p] + 200) / 500, at(in, p, 32, 32, 32), 1e-6, "phase " + p);
            }
            // Every value lies in the window's [0, 1].
            for (long i = 0; i < 3L * 64 * 64 * 64; i++) {
                float v = in.data().getAtIndex(ValueLayout.JAVA_FLOAT, i);
                assertTrue(v >= 0 && v <= 1);
            }
            Roi roi = in.roi();
            assertEquals(1, roi.components());
            // The world box spans the tumour plus the margin on each side (up to the voxel rounding of the mask).
            for (int a = 0; a < 3; a++) {
                double span = roi.worldMax()[a] - roi.worldMin()[a];
                assertEquals(2 * t.semiAxesMm()[a] + 20, span, 2 * tol[a], "axis " + a);
            }
        }
    }

    private static double[] nonTranslation(PreprocessedInput in) {
        double[] a = Arrays.copyOf(in.geometry().affine(), 12);
        a[3] = 0;
        a[7] = 0;
        a[11] = 0;
        return a;
    }

    @Test
    void zScoreUsesTheConfiguredStatistics() {
        PreprocessingSpec z = new PreprocessingSpec(new int[] {16, 24, 32}, new double[] {2, 1.5, 1}, 5, -100, 400,
            Normalisation.ZSCORE, 60, 80);
        try (PhantomCase c = Phantom.generate(1, PhantomOptions.defaults().withNoise(0));
             PreprocessedInput in = Preprocessor.run(c.phases(), c.tumourMask(), MaskSelection.largestComponent(), z)) {
            assertArrayEquals(new int[] {3, 16, 24, 32}, in.shape());
            // Tumour 42 x 32 x 28 mm (z, y, x) + 10 mm does not fit in 32 x 36 x 32 mm: one common factor enlarges
            // all spacings so that the longest relative axis fits.
            assertTrue(in.scaledToFit());
            double[] sp = in.spacingMm();
            assertEquals(sp[0] / 2, sp[2] / 1, 1e-12);
            assertEquals(sp[1] / 1.5, sp[2] / 1, 1e-12);
            assertEquals((150 - 60) / 80.0, at(in, 0, 8, 12, 16), 1e-6);
            assertEquals((75 - 60) / 80.0, at(in, 2, 8, 12, 16), 1e-6);
        }
    }

    @Test
    void delayedPhaseOnItsOwnGridIsResampledInWorldCoordinates() {
        try (PhantomCase same = Phantom.generate(1, PhantomOptions.defaults().withNoise(0));
             PhantomCase shifted = Phantom.generate(1, PhantomOptions.defaults().withNoise(0).withShiftedDelayed(true));
             PreprocessedInput a = Preprocessor.run(same.phases(), same.tumourMask(), MaskSelection.largestComponent(), WINDOW);
             PreprocessedInput b = Preprocessor.run(shifted.phases(), shifted.tumourMask(), MaskSelection.largestComponent(), WINDOW)) {
            // Same reference grid and mask, so the arterial and venous inputs are identical.
            for (int d = 0; d < 64; d += 7) {
                for (int h = 0; h < 64; h += 5) {
                    for (int w = 0; w < 64; w += 3) {
                        assertEquals(at(a, 0, d, h, w), at(b, 0, d, h, w), 0f);
                        assertEquals(at(a, 1, d, h, w), at(b, 1, d, h, w), 0f);
                    }
                }
            }
            // The delayed phases were rendered on different grids; inside the tumour both are the constant 75 HU.
            assertEquals((75 + 200) / 500.0, at(b, 2, 32, 32, 32), 1e-6);
            // Away from tissue edges both show the same tissue: most voxels agree exactly, edges differ by
            // partial-volume interpolation.
            long equal = 0;
            for (int i = 0; i < 64 * 64 * 64; i++) {
                equal += Math.abs(at(a, 2, i / 4096, (i / 64) % 64, i % 64) - at(b, 2, i / 4096, (i / 64) % 64, i % 64)) < 1e-5 ? 1 : 0;
            }
            assertTrue(equal > 0.7 * 64 * 64 * 64, "equal voxels " + equal);
        }
    }

    @Test
    void savedInputReadsBackWithTheNetworkGeometry() {
        try (PhantomCase c = Phantom.generate(2, PhantomOptions.defaults());
             PreprocessedInput in = Preprocessor.run(c.phases(), c.tumourMask(), MaskSelection.largestComponent(), WINDOW)) {
            List<Path> files = in.save(dir, PhantomCase.PHASE_NAMES);
            assertEquals(dir.resolve("input_venous.nii.gz"), files.get(1));
            try (Volume v = NiftiReader.read(files.get(1))) {
                assertArrayEquals(new int[] {64, 64, 64}, v.shape());
                assertArrayEquals(in.geometry().affine(), v.geometry().affine(), 1e-4); // float32 header fields
                for (int i = 0; i < 64 * 64 * 64; i += 97) {
                    assertEquals(at(in, 1, i / 4096, (i / 64) % 64, i % 64), v.get(i), 0f);
                }
            }
        }
    }

    @Test
    void badCombinationsAreRefusedNamingTheFile() {
        try (PhantomCase c = Phantom.generate(1, PhantomOptions.defaults().withShiftedDelayed(true))) {
            MaskSelection sel = MaskSelection.largestComponent();
            // Missing phase.
            VolumeInputException e = assertThrows(VolumeInputException.class,
                () -> Preprocessor.run(Arrays.asList(c.arterial(), null, c.delayed()), c.tumourMask(), sel, WINDOW));
            assertEquals("phase 2 of 3 is missing", e.getMessage());
            // A phase that lies 1 m away from the tumour.
            double[] far = c.venous().geometry().affine();
            far[11] += 1000;
            try (Volume away = Resampler.resample(c.venous(), c.venous().nz(), c.venous().ny(), c.venous().nx(),
                new Geometry(far, 1, 1), Resampler.Interpolation.TRILINEAR, -1000f)) {
                e = assertThrows(VolumeInputException.class,
                    () -> Preprocessor.run(List.of(c.arterial(), away, c.delayed()), c.tumourMask(), sel, WINDOW));
                assertTrue(e.getMessage().startsWith(away.source() + ": phase does not overlap"), e.getMessage());
            }
            // Empty mask.
            try (Volume empty = Volume.allocate(64, 192, 192, c.arterial().geometry(), "empty_mask.nii.gz")) {
                e = assertThrows(VolumeInputException.class, () -> Preprocessor.run(c.phases(), empty, sel, WINDOW));
                assertTrue(e.getMessage().startsWith("empty_mask.nii.gz: mask is empty"), e.getMessage());
            }
        }
    }
}
