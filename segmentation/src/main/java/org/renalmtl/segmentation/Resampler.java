package org.renalmtl.segmentation;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

/**
 * nnU-Net's {@code resample_data_or_seg} for one channel, for images and logits (never label maps).
 *
 * <p>Without separate z it is scikit-image's {@code resize(order, mode='edge', anti_aliasing=False)} of the
 * whole 3-D channel, clipped to that channel's input range. With separate z it resizes every slice across the
 * low-resolution axis in-plane the same way (each clipped to its own slice's range), then interpolates along
 * that axis with {@code map_coordinates(order=order_z, mode='nearest')} and no clipping. Both are computed as
 * separable 1-D passes in float64 ({@link LineZoom}); between passes the partial result is held in float32,
 * which is the only deviation from nnU-Net's float64 temporaries (a relative 6e-8 per pass, see the tests).
 * The result is rounded to the destination's storage, as nnU-Net casts to the input's dtype.
 */
final class Resampler {

    private Resampler() {
    }

    /**
     * Resamples channel {@code sc} of {@code src} onto the shape of {@code dst}, into its channel {@code dc}.
     *
     * @param src     input grid, shape (D, H, W)
     * @param sc      input channel
     * @param dst     output grid, shape (D', H', W')
     * @param dc      output channel
     * @param sepAxis the low-resolution axis for separate-z resampling, or -1
     * @param kw      orders
     */
    static void resample(Grid src, int sc, Grid dst, int dc, int sepAxis, ResamplingKwargs kw) {
        int[] s = src.shape();
        int[] t = dst.shape();
        if (s[0] == t[0] && s[1] == t[1] && s[2] == t[2]) {
            // nnU-Net returns the array untouched when the shape does not change
            long n = src.voxels();
            for (long i = 0; i < n; i++) {
                dst.set(dc, i, src.get(sc, i));
            }
            return;
        }
        if (sepAxis < 0) {
            double[] range = range(src, sc);
            List<Integer> axes = new ArrayList<>();
            for (int a = 0; a < 3; a++) {
                if (s[a] != t[a]) {
                    axes.add(a);
                }
            }
            chain(src, sc, dst, dc, axes, kw.order(), new double[] {range[0]}, new double[] {range[1]}, -1);
            return;
        }
        double[][] sliceRange = sliceRanges(src, sc, sepAxis);
        List<Integer> inPlane = new ArrayList<>();
        for (int a = 0; a < 3; a++) {
            if (a != sepAxis && s[a] != t[a]) {
                inPlane.add(a);
            }
        }
        if (s[sepAxis] == t[sepAxis]) {
            chain(src, sc, dst, dc, inPlane, kw.order(), sliceRange[0], sliceRange[1], sepAxis);
            return;
        }
        int[] mid = t.clone();
        mid[sepAxis] = s[sepAxis];
        if (inPlane.isEmpty()) {
            // the in-plane resize keeps every value (within rounding of 1e-16); only the z pass remains
            pass(src, sc, dst, dc, sepAxis, kw.orderZ(), null, null, -1);
            return;
        }
        try (Grid tmp = Grid.allocate(1, mid, Grid.Storage.FLOAT32, "in-plane resampled channel")) {
            chain(src, sc, tmp, 0, inPlane, kw.order(), sliceRange[0], sliceRange[1], sepAxis);
            pass(tmp, 0, dst, dc, sepAxis, kw.orderZ(), null, null, -1);
        }
    }

    /** Runs 1-D passes over {@code axes} in turn; the last writes to dst, clipped. */
    private static void chain(Grid src, int sc, Grid dst, int dc, List<Integer> axes, int order,
                              double[] lo, double[] hi, int clipAxis) {
        Grid cur = src;
        int cc = sc;
        int[] shape = src.shape();
        int[] target = dst.shape();
        for (int i = 0; i < axes.size(); i++) {
            int a = axes.get(i);
            shape[a] = target[a];
            boolean last = i == axes.size() - 1;
            Grid next = last ? dst : Grid.allocate(1, shape, Grid.Storage.FLOAT32, "resampling pass");
            pass(cur, cc, next, last ? dc : 0, a, order, last ? lo : null, last ? hi : null, clipAxis);
            if (cur != src) {
                cur.close();
            }
            cur = next;
            cc = 0;
        }
    }

    /**
     * Zooms every line along {@code axis}. With bounds, output values are clipped to {@code [lo, hi]}: one pair
     * ({@code clipAxis} -1) or one per index along {@code clipAxis}.
     */
    private static void pass(Grid in, int ic, Grid out, int oc, int axis, int order, double[] lo, double[] hi,
                             int clipAxis) {
        int[] s = in.shape();
        int[] t = out.shape();
        int n = s[axis];
        int m = t[axis];
        int a1 = axis == 0 ? 1 : 0;
        int a2 = axis == 2 ? 1 : 2;
        long[] is = {(long) s[1] * s[2], s[2], 1};
        long[] os = {(long) t[1] * t[2], t[2], 1};
        IntStream.range(0, s[a1]).parallel().forEach(p -> {
            LineZoom zoom = new LineZoom(n);
            double[] line = new double[n]; // (n) one input line
            double[] res = new double[m]; // (m) the zoomed line
            for (int q = 0; q < s[a2]; q++) {
                long ib = p * is[a1] + q * is[a2];
                for (int i = 0; i < n; i++) {
                    line[i] = in.get(ic, ib + i * is[axis]);
                }
                zoom.zoom(line, n, res, m, order);
                long ob = p * os[a1] + q * os[a2];
                if (lo != null) {
                    int k = clipAxis < 0 ? 0 : (clipAxis == a1 ? p : q);
                    for (int i = 0; i < m; i++) {
                        res[i] = Math.min(Math.max(res[i], lo[k]), hi[k]);
                    }
                }
                for (int i = 0; i < m; i++) {
                    out.set(oc, ob + i * os[axis], (float) res[i]);
                }
            }
        });
    }

    private static double[] range(Grid g, int c) {
        double lo = Double.POSITIVE_INFINITY;
        double hi = Double.NEGATIVE_INFINITY;
        long n = g.voxels();
        for (long i = 0; i < n; i++) {
            float v = g.get(c, i);
            lo = Math.min(lo, v);
            hi = Math.max(hi, v);
        }
        return new double[] {lo, hi};
    }

    /** @return {lo[], hi[]}: the value range of each slice across {@code axis} */
    private static double[][] sliceRanges(Grid g, int c, int axis) {
        int[] s = g.shape();
        double[] lo = new double[s[axis]];
        double[] hi = new double[s[axis]];
        java.util.Arrays.fill(lo, Double.POSITIVE_INFINITY);
        java.util.Arrays.fill(hi, Double.NEGATIVE_INFINITY);
        int[] idx = new int[3];
        for (idx[0] = 0; idx[0] < s[0]; idx[0]++) {
            for (idx[1] = 0; idx[1] < s[1]; idx[1]++) {
                for (idx[2] = 0; idx[2] < s[2]; idx[2]++) {
                    float v = g.get(c, g.index(idx[0], idx[1], idx[2]));
                    int k = idx[axis];
                    lo[k] = Math.min(lo[k], v);
                    hi[k] = Math.max(hi[k], v);
                }
            }
        }
        return new double[][] {lo, hi};
    }
}
