package org.renalmtl.loader;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** World-coordinate resampling. */
class ResamplerTest {

    /** A volume whose value is a linear function of world position: trilinear interpolation reproduces it exactly. */
    private static Volume linearRamp(int nz, int ny, int nx, Geometry g) {
        Volume v = Volume.allocate(nz, ny, nx, g, "ramp");
        for (int z = 0; z < nz; z++) {
            for (int y = 0; y < ny; y++) {
                for (int x = 0; x < nx; x++) {
                    double[] w = g.toWorld(x, y, z);
                    v.set(z, y, x, (float) ramp(w));
                }
            }
        }
        return v;
    }

    private static double ramp(double[] w) {
        return 2 * w[0] - 3 * w[1] + 0.5 * w[2] + 7;
    }

    @Test
    void identityReproducesTheInput() {
        Geometry g = new Geometry(new double[] {0.8, 0.1, 0, -30, 0, -0.7, 0.2, 40, 0, 0, 2.5, -50, 0, 0, 0, 1}, 1, 1);
        try (Volume v = linearRamp(7, 9, 11, g);
             Volume r = Resampler.resampleLike(v, v, Resampler.Interpolation.TRILINEAR, -1000f);
             Volume n = Resampler.resampleLike(v, v, Resampler.Interpolation.NEAREST, -1000f)) {
            for (long i = 0; i < v.voxelCount(); i++) {
                // The composed map is the identity up to rounding (~1e-15 voxels), so trilinear weights are 0/1.
                assertEquals(v.get(i), r.get(i), 1e-4f);
                assertEquals(v.get(i), n.get(i), 0f);
            }
        }
    }

    @Test
    void shiftedAndFlippedGridsSampleTheSameWorldFunction() {
        Geometry src = Geometry.axisAligned(new double[] {1, 1.5, 2}, new double[] {0, 0, 0});
        // Target: LPS-like flips of x and y, a different spacing, and an origin between source voxels.
        Geometry dst = new Geometry(new double[] {-0.7, 0, 0, 12.3, 0, -1.1, 0, 14.2, 0, 0, 2.6, 1.1, 0, 0, 0, 1}, 0, 0);
        try (Volume v = linearRamp(10, 12, 20, src);
             Volume r = Resampler.resample(v, 5, 9, 11, dst, Resampler.Interpolation.TRILINEAR, Float.NaN)) {
            for (int z = 0; z < 5; z++) {
                for (int y = 0; y < 9; y++) {
                    for (int x = 0; x < 11; x++) {
                        double[] w = dst.toWorld(x, y, z);
                        // All target centres lie inside the source's voxel centres, where trilinear is exact for
                        // a linear function; float32 storage leaves ~1e-5 relative error.
                        assertEquals(ramp(w), r.get(z, y, x), 1e-3, "at " + z + "," + y + "," + x);
                    }
                }
            }
        }
    }

    @Test
    void integerShiftMovesValuesAndNearestKeepsLabels() {
        Geometry src = Geometry.axisAligned(new double[] {1, 1, 1}, new double[] {0, 0, 0});
        Geometry dst = Geometry.axisAligned(new double[] {1, 1, 1}, new double[] {2, -1, 0});
        try (Volume v = Volume.allocate(3, 4, 6, src, "labels")) {
            for (long i = 0; i < v.voxelCount(); i++) {
                v.set(i, i % 5);
            }
            try (Volume like = Volume.allocate(3, 4, 6, dst, "grid");
                 Volume r = Resampler.resampleLike(v, like, Resampler.Interpolation.NEAREST, -1f)) {
                for (int z = 0; z < 3; z++) {
                    for (int y = 0; y < 4; y++) {
                        for (int x = 0; x < 6; x++) {
                            int sx = x + 2;
                            int sy = y - 1;
                            float expected = sx < 6 && sy >= 0 ? v.get(z, sy, sx) : -1f;
                            assertEquals(expected, r.get(z, y, x), 0f);
                        }
                    }
                }
            }
        }
    }

    @Test
    void overlapFractionOfDisjointGridsIsZero() {
        Geometry a = Geometry.axisAligned(new double[] {1, 1, 1}, new double[] {0, 0, 0});
        Geometry far = Geometry.axisAligned(new double[] {1, 1, 1}, new double[] {0, 0, 500});
        Geometry half = Geometry.axisAligned(new double[] {1, 1, 1}, new double[] {5, 0, 0});
        try (Volume v = Volume.allocate(10, 10, 10, a, "a")) {
            assertEquals(0.0, Resampler.overlapFraction(v, 10, 10, 10, far));
            assertEquals(1.0, Resampler.overlapFraction(v, 10, 10, 10, a));
            // Target x centres 5..14 against source 0..9 (covering up to 9.5): half inside.
            assertEquals(0.5, Resampler.overlapFraction(v, 10, 10, 10, half), 1e-12);
        }
    }
}
