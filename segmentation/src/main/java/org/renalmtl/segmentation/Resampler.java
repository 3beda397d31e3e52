package org.renalmtl.segmentation;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.IntUnaryOperator;

/**
 * nnU-Net's {@code resample_data_or_seg} for one channel, for images and logits (never label maps).
 *
 * <p>Without separate z it is scikit-image's {@code resize(order, mode='edge', anti_aliasing=False)} of the
 * whole 3-D channel, clipped to that channel's input range. With separate z it resizes every slice across the
 * low-resolution axis in-plane the same way (each clipped to its own slice's range), then interpolates along
 * that axis with {@code map_coordinates(order=order_z, mode='nearest')} and no clipping. Both are computed as
 * separable 1-D passes in float64 ({@link LineZoom}), axes in increasing order; between passes the partial
 * result is held in float32, which is the only deviation from nnU-Net's float64 temporaries (a relative 6e-8
 * per pass, see the tests). The result is rounded to the destination's storage, as nnU-Net casts to the input's
 * dtype.
 *
 * <p>Passes along axes 1 and 2 stay within a slice of axis 0, so consecutive ones run slice by slice with
 * slice-sized buffers. A first pass along axis 0 of order 0 or 1 (nnU-Net's logits) needs only two input slices
 * per output slice, so it runs slice by slice too; a final nearest-neighbour pass along axis 0 (nnU-Net's
 * default order_z 0) just picks input slices, so each picked slice is resampled in-plane straight into the
 * destination, once, and copied where it repeats. Only the cubic pass along axis 0 before others (3-D image
 * resampling) and an order_z of 1 or 3 need a full-size float32 intermediate, which an instance keeps for the
 * next call with the same shape.
 */
final class Resampler implements AutoCloseable {

    private Grid temp; // (1, D', H, W) float32 result of a pass along axis 0, kept for the next call

    /** A 1-D pass along {@code axis} of the given order, clipped or not. */
    private record Pass(int axis, int order, double[] lo, double[] hi, int clipAxis) {
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
        try (Resampler r = new Resampler()) {
            r.run(src, sc, dst, dc, sepAxis, kw);
        }
    }

    /** {@link #resample}, reusing this instance's intermediate. */
    void run(Grid src, int sc, Grid dst, int dc, int sepAxis, ResamplingKwargs kw) {
        int[] s = src.shape();
        int[] t = dst.shape();
        if (Arrays.equals(s, t)) {
            // nnU-Net returns the array untouched when the shape does not change
            SliceGroup.copy(src, sc, dst, dc);
            return;
        }
        List<Pass> passes = new ArrayList<>();
        if (sepAxis < 0) {
            double[] range = ChannelRanges.range(src, sc);
            for (int a = 0; a < 3; a++) {
                if (s[a] != t[a]) {
                    passes.add(new Pass(a, kw.order(), null, null, -1));
                }
            }
            clipLast(passes, new double[] {range[0]}, new double[] {range[1]}, -1);
        } else {
            for (int a = 0; a < 3; a++) {
                if (a != sepAxis && s[a] != t[a]) {
                    passes.add(new Pass(a, kw.order(), null, null, -1));
                }
            }
            if (!passes.isEmpty()) {
                double[][] r = ChannelRanges.sliceRanges(src, sc, sepAxis);
                clipLast(passes, r[0], r[1], sepAxis);
            }
            if (s[sepAxis] != t[sepAxis]) {
                passes.add(new Pass(sepAxis, kw.orderZ(), null, null, -1));
            }
        }
        execute(src, sc, dst, dc, passes);
    }

    private static void clipLast(List<Pass> passes, double[] lo, double[] hi, int clipAxis) {
        Pass p = passes.removeLast();
        passes.add(new Pass(p.axis(), p.order(), lo, hi, clipAxis));
    }

    /**
     * Runs the passes in order. Axis 0 occurs at most once: first (3-D), last (separate z along axis 0) or not
     * at all; the passes along axes 1 and 2 run slice by slice. A pass along axis 0 that reads at most two
     * input slices per output slice (order 0 or 1) and comes first is computed slice by slice before them; an
     * order-0 one that comes last only picks slices; otherwise it runs on the whole grid through the
     * intermediate.
     */
    private void execute(Grid src, int sc, Grid dst, int dc, List<Pass> passes) {
        int[] s = src.shape();
        int[] t = dst.shape();
        Pass first = passes.getFirst();
        Pass last = passes.getLast();
        if (passes.size() == 1 && first.axis() == 0) {
            axisZero(src, sc, dst, dc, first);
        } else if (first.axis() == 0) {
            List<SliceGroup.Step> steps = steps(s, t, passes.subList(1, passes.size()));
            if (first.order() <= 1) {
                SliceGroup.run(src, sc, dst, dc, new LineZoom(s[0], t[0], first.order()), steps, null);
                return;
            }
            int[] mid = s.clone();
            mid[0] = t[0];
            Grid tmp = temp(mid);
            axisZero(src, sc, tmp, 0, first);
            SliceGroup.run(tmp, 0, dst, dc, null, steps, null);
        } else if (last.axis() == 0) {
            List<SliceGroup.Step> steps = steps(s, t, passes.subList(0, passes.size() - 1));
            if (last.order() == 0 && last.lo() == null) {
                SliceGroup.run(src, sc, dst, dc, null, steps, new LineZoom(s[0], t[0], 0));
                return;
            }
            int[] mid = t.clone();
            mid[0] = s[0];
            Grid tmp = temp(mid);
            SliceGroup.run(src, sc, tmp, 0, null, steps, null);
            axisZero(tmp, 0, dst, dc, last);
        } else {
            SliceGroup.run(src, sc, dst, dc, null, steps(s, t, passes), null);
        }
    }

    /** @return the passes along axes 1 and 2 as slice steps from shape {@code s} to {@code t} */
    private static List<SliceGroup.Step> steps(int[] s, int[] t, List<Pass> passes) {
        List<SliceGroup.Step> steps = new ArrayList<>();
        for (Pass q : passes) {
            int a = q.axis();
            steps.add(new SliceGroup.Step(a, new LineZoom(s[a], t[a], q.order()), q.lo(), q.hi(), q.clipAxis()));
        }
        return steps;
    }

    /** The kept intermediate, (re)allocated for this shape. */
    private Grid temp(int[] shape) {
        if (temp == null || !Arrays.equals(temp.shape(), shape)) {
            close();
            temp = Grid.allocate(1, shape, Grid.Storage.FLOAT32, "resampling pass");
        }
        return temp;
    }

    /** One pass along axis 0: the columns of the (D, H·W) plane, in parallel blocks of columns. */
    private static void axisZero(Grid in, int ic, Grid out, int oc, Pass p) {
        int[] s = in.shape();
        int w = s[2];
        long plane = (long) s[1] * s[2];
        LineZoom zoom = new LineZoom(s[0], out.shape()[0], p.order());
        IntUnaryOperator index = switch (p.clipAxis()) {
            case 1 -> l -> l / w;
            case 2 -> l -> l % w;
            default -> l -> 0;
        };
        PlanePass.Clip clip = p.lo() == null ? null : new PlanePass.Clip(p.lo(), p.hi(), index);
        PlanePass.Runs src = PlanePass.of(in, ic, 0);
        PlanePass.Runs dst = PlanePass.of(out, oc, 0);
        Chunks.forEach(plane, PlanePass.BLOCK, (from, to) -> {
            PlanePass.Scratch scratch = new PlanePass.Scratch();
            PlanePass.columns(src, dst, plane, from, to, zoom, clip, scratch);
        });
    }

    /** Frees the intermediate. */
    @Override
    public void close() {
        if (temp != null) {
            temp.close();
            temp = null;
        }
    }
}
