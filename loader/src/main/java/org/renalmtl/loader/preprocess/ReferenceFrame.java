package org.renalmtl.loader.preprocess;

import org.renalmtl.loader.Geometry;

/**
 * The reference grid the network grid is laid out on: the reference phase's own voxel axes, or those axes
 * permuted and flipped as {@link Reorientation#RAS} says. Only indices change (a permutation and flips of the
 * voxel axes, as {@code as_closest_canonical}), so every world position, and hence every sample, is the same.
 *
 * @param geometry frame voxel (i, j, k) → world
 * @param spacing  voxel size along the frame's (k, j, i), i.e. (z, y, x), mm
 * @param boxLo    ROI box lower corner in frame voxel coordinates, (z, y, x)
 * @param boxHi    ROI box upper corner in frame voxel coordinates, (z, y, x)
 */
record ReferenceFrame(Geometry geometry, double[] spacing, double[] boxLo, double[] boxHi) {

    /**
     * @param g     the reference phase's geometry
     * @param dims  its (nz, ny, nx)
     * @param boxLo ROI box lower corner in its voxel coordinates, (z, y, x)
     * @param boxHi ROI box upper corner, (z, y, x)
     * @param r     the reorientation
     * @return the frame
     */
    static ReferenceFrame of(Geometry g, int[] dims, double[] boxLo, double[] boxHi, Reorientation r) {
        double[] s = g.spacing(); // (x, y, z)
        if (r == Reorientation.NONE) {
            return new ReferenceFrame(g, new double[] {s[2], s[1], s[0]}, boxLo.clone(), boxHi.clone());
        }
        int[][] axes = g.closestAxes(); // for voxel axis i, j, k: {world axis, sign}
        double[] map = new double[16]; // frame voxel -> reference voxel, (4, 4) row-major
        double[] spacing = new double[3];
        double[] lo = new double[3];
        double[] hi = new double[3];
        for (int o = 0; o < 3; o++) {
            int c = axes[o][0]; // the frame axis that reference axis o becomes
            int n = dims[2 - o];
            boolean flip = axes[o][1] < 0;
            map[o * 4 + c] = flip ? -1 : 1;
            map[o * 4 + 3] = flip ? n - 1 : 0;
            spacing[2 - c] = s[o];
            lo[2 - c] = flip ? n - 1 - boxHi[2 - o] : boxLo[2 - o];
            hi[2 - c] = flip ? n - 1 - boxLo[2 - o] : boxHi[2 - o];
        }
        map[15] = 1;
        return new ReferenceFrame(g.compose(map), spacing, lo, hi);
    }
}
