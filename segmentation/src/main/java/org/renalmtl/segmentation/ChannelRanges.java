package org.renalmtl.segmentation;

import java.util.Arrays;
import java.util.List;

/**
 * The value ranges nnU-Net clips resampled data to: the whole channel's, or each slice's across an axis. Read
 * row by row in parallel; min and max reduce exactly in any order, so the result does not depend on the split.
 */
final class ChannelRanges {

    private ChannelRanges() {
    }

    /** @return {lo, hi} of channel {@code c} */
    static double[] range(Grid g, int c) {
        double[][] r = sliceRanges(g, c, 0);
        double lo = Double.POSITIVE_INFINITY;
        double hi = Double.NEGATIVE_INFINITY;
        for (int z = 0; z < r[0].length; z++) {
            lo = Math.min(lo, r[0][z]);
            hi = Math.max(hi, r[1][z]);
        }
        return new double[] {lo, hi};
    }

    /** @return {lo[], hi[]}: the value range of each slice across {@code axis} */
    static double[][] sliceRanges(Grid g, int c, int axis) {
        int[] s = g.shape();
        List<double[][]> parts = Chunks.map(s[0], 1, (z0, z1) -> {
            double[] lo = new double[s[axis]];
            double[] hi = new double[s[axis]];
            Arrays.fill(lo, Double.POSITIVE_INFINITY);
            Arrays.fill(hi, Double.NEGATIVE_INFINITY);
            float[] row = new float[s[2]]; // (W) one row
            for (int z = (int) z0; z < z1; z++) {
                for (int y = 0; y < s[1]; y++) {
                    g.read(c, g.index(z, y, 0), row, 0, s[2]);
                    if (axis == 2) {
                        for (int x = 0; x < s[2]; x++) {
                            lo[x] = Math.min(lo[x], row[x]);
                            hi[x] = Math.max(hi[x], row[x]);
                        }
                    } else {
                        int k = axis == 0 ? z : y;
                        double l = lo[k];
                        double h = hi[k];
                        for (float v : row) {
                            l = Math.min(l, v);
                            h = Math.max(h, v);
                        }
                        lo[k] = l;
                        hi[k] = h;
                    }
                }
            }
            return new double[][] {lo, hi};
        });
        double[][] r = parts.getFirst();
        for (double[][] p : parts.subList(1, parts.size())) {
            for (int k = 0; k < s[axis]; k++) {
                r[0][k] = Math.min(r[0][k], p[0][k]);
                r[1][k] = Math.max(r[1][k], p[1][k]);
            }
        }
        return r;
    }
}
