package org.renalmtl.segmentation;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.renalmtl.loader.Geometry;
import org.renalmtl.loader.Volume;
import org.renalmtl.loader.VolumeInputException;

/** nnU-Net's integer decisions, with values worked out by hand from its code, and refused inputs. */
class NnunetMathTest {

    @Test
    void stepsFollowNnunet() {
        // nnU-Net's own comment: size 110, patch 64, step 0.5 -> 3 steps at 0, 23, 46
        assertArrayEquals(new int[] {0, 23, 46}, NnunetMath.steps(110, 64, 0.5));
        assertArrayEquals(new int[] {0}, NnunetMath.steps(64, 64, 0.5));
        // ceil(68 / 16) + 1 = 6 steps of 13.6: 0, 13.6, 27.2, 40.8, 54.4, 68 rounded
        assertArrayEquals(new int[] {0, 14, 27, 41, 54, 68}, NnunetMath.steps(100, 32, 0.5));
        // 3 steps of 2.5 (2.5 -> 2, half to even) and of 4.5 (4.5 -> 4)
        assertArrayEquals(new int[] {0, 2, 5}, NnunetMath.steps(13, 8, 0.5));
        assertArrayEquals(new int[] {0, 4, 9}, NnunetMath.steps(25, 16, 0.5));
        assertThrows(IllegalArgumentException.class, () -> NnunetMath.steps(10, 16, 0.5));
    }

    @Test
    void newShapeRoundsHalfToEven() {
        // 30 · 3/4 = 22.5 -> 22; 10 · 1.5 = 15; 5 · 0.5 = 2.5 -> 2; 7 · 0.5 = 3.5 -> 4
        assertArrayEquals(new int[] {22, 15, 2}, NnunetMath.newShape(new int[] {30, 10, 5},
            new double[] {3, 3, 1}, new double[] {4, 2, 2}));
        assertEquals(4, NnunetMath.newShape(new int[] {7, 1, 1}, new double[] {1, 1, 1}, new double[] {2, 1, 1})[0]);
    }

    @Test
    void padSplitsTheOddVoxelAfter() {
        assertEquals(2, NnunetMath.padBefore(8, 13)); // 5 -> 2 before, 3 after
        assertEquals(0, NnunetMath.padBefore(20, 13));
    }

    @Test
    void separateZFollowsTheAnisotropyRule() {
        ResamplingKwargs kw = ResamplingKwargs.defaultData();
        assertEquals(0, NnunetMath.separateZAxis(kw, new double[] {4, 0.9, 1.1}, new double[] {1, 1, 1}));
        assertEquals(2, NnunetMath.separateZAxis(kw, new double[] {1, 1, 1}, new double[] {0.8, 0.8, 3.5}));
        assertEquals(-1, NnunetMath.separateZAxis(kw, new double[] {3, 1.5, 1.5}, new double[] {1, 1, 1}));
        // two axes at the maximum: no separate z even though anisotropic
        assertEquals(-1, NnunetMath.separateZAxis(kw, new double[] {4, 4, 1}, new double[] {1, 1, 1}));
        ResamplingKwargs forced = new ResamplingKwargs(3, 0, true, 3.0);
        assertEquals(1, NnunetMath.separateZAxis(forced, new double[] {1, 2, 1}, new double[] {1, 1, 1}));
        ResamplingKwargs off = new ResamplingKwargs(3, 0, false, 3.0);
        assertEquals(-1, NnunetMath.separateZAxis(off, new double[] {5, 1, 1}, new double[] {1, 1, 1}));
    }

    @Test
    void mirrorVariantsInItertoolsOrder() {
        // identity, (0), (1), (2), (0,1), (0,2), (1,2), (0,1,2) as flip bit masks
        assertArrayEquals(new int[] {0, 1, 2, 4, 3, 5, 6, 7}, SlidingWindow.mirrorVariants(new int[] {0, 1, 2}));
        assertArrayEquals(new int[] {0, 1, 4, 5}, SlidingWindow.mirrorVariants(new int[] {0, 2}));
        assertArrayEquals(new int[] {0}, SlidingWindow.mirrorVariants(new int[0]));
    }

    @Test
    void tinyPositiveLogitIsNotARegion() {
        // PyTorch's float32 sigmoid rounds to exactly 0.5 for x below about 1e-7, so "> 0.5" is false there
        assertEquals(0.5f, Exporter.sigmoid(5.96e-8f));
        assertTrue(Exporter.sigmoid(1e-3f) > 0.5f);
    }

    @Test
    void badInputIsOneLineNamingTheFile() {
        SegmentationSettings s = new SegmentationSettings(new int[] {8, 8, 8}, new double[] {1, 1, 1},
            new int[] {0, 1, 2}, new int[] {0, 1, 2}, List.of(ChannelNormalization.none()),
            ResamplingKwargs.defaultData(), ResamplingKwargs.defaultProbabilities(), 2, null, new int[] {0, 1, 2});
        Geometry g = Geometry.axisAligned(new double[] {1, 1, 1}, new double[] {0, 0, 0});
        try (Volume zero = Volume.allocate(4, 5, 6, g, "zero.nii.gz");
             Volume other = Volume.allocate(4, 5, 7, g, "other.nii.gz")) {
            VolumeInputException e = assertThrows(VolumeInputException.class,
                () -> Preprocessor.preprocess(List.of(zero), s));
            assertEquals("zero.nii.gz: every voxel is zero: nothing to segment", e.getMessage());
            e = assertThrows(VolumeInputException.class, () -> Preprocessor.preprocess(List.of(zero, other), s));
            assertTrue(e.getMessage().startsWith("zero.nii.gz: the model takes 1 input channel(s), got 2"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> new SegmentationSettings(new int[] {8, 8}, new double[] {1, 1, 1},
            new int[] {0, 1, 2}, new int[] {0, 1, 2}, List.of(ChannelNormalization.none()),
            ResamplingKwargs.defaultData(), ResamplingKwargs.defaultProbabilities(), 2, null, null));
        assertThrows(IllegalArgumentException.class, () -> ChannelNormalization.Scheme.fromPlansName("RescaleTo01Normalization"));
    }
}
