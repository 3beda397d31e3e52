package org.renalmtl.segmentation;

import java.util.ArrayList;
import java.util.List;
import java.util.function.IntUnaryOperator;

/**
 * Consecutive resampling passes along axes 1 and 2, run slice by slice (a slice of axis 0 never needs another),
 * slices in parallel; between two passes the slice is held in a float32 buffer, as a full-size intermediate
 * would hold it. A zoom along axis 0 may come first when each of its output slices reads at most two input
 * slices (order 0 or 1: the slice is computed from them, then resampled in-plane), or last when it only picks
 * input slices (order 0: only the picked ones are resampled, each once, and copied where they repeat).
 */
final class SliceGroup {

    /**
     * One pass within a slice.
     *
     * @param axis     1 or 2
     * @param zoom     the line zoom along it
     * @param lo       clip lower bounds, or null for none
     * @param hi       clip upper bounds
     * @param clipAxis the axis the bounds are indexed by, -1 for one pair
     */
    record Step(int axis, LineZoom zoom, double[] lo, double[] hi, int clipAxis) {
    }

    private SliceGroup() {
    }

    /**
     * @param in     input grid (D, H, W)
     * @param ic     its channel
     * @param out    output grid (D', H', W'); D' = D unless {@code zFirst} or {@code zPick} is given
     * @param oc     its channel
     * @param zFirst order-0 or order-1 zoom along axis 0 applied before the steps, or null
     * @param steps  passes in order
     * @param zPick  order-0 zoom along axis 0 picking each output slice's input slice after the steps, or null
     */
    static void run(Grid in, int ic, Grid out, int oc, LineZoom zFirst, List<Step> steps, LineZoom zPick) {
        int[] s = in.shape();
        int[] t = out.shape();
        long planeIn = (long) s[1] * s[2];
        long planeOut = (long) t[1] * t[2];
        List<int[]> tasks = new ArrayList<>(); // {input slice (-1: zFirst's output), first output slice, end}
        for (int k = 0; k < t[0]; k++) {
            int j = zFirst != null ? -1 : zPick == null ? k : zPick.tap(k, 0);
            if (j >= 0 && !tasks.isEmpty() && tasks.getLast()[0] == j) {
                tasks.getLast()[2] = k + 1;
            } else {
                tasks.add(new int[] {j, k, k + 1});
            }
        }
        int[] after = dims(new int[] {s[1], s[2]}, steps.getFirst());
        long buffer = steps.size() > 1 ? (long) after[0] * after[1] : 0;
        Chunks.forEach(tasks.size(), 1, (from, to) -> {
            PlanePass.Scratch scratch = new PlanePass.Scratch();
            float[] mid = new float[(int) buffer]; // (H', W) or (H, W') slice between the two passes
            ZSlices z = zFirst == null ? null : new ZSlices(in, ic, (int) planeIn);
            for (int task = (int) from; task < to; task++) {
                int[] job = tasks.get(task);
                int j = job[0];
                PlanePass.Runs src = z != null ? PlanePass.of(z.slice(zFirst, job[1])) : PlanePass.of(in, ic, j * planeIn);
                int h = s[1];
                int w = s[2];
                for (int i = 0; i < steps.size(); i++) {
                    Step st = steps.get(i);
                    boolean last = i == steps.size() - 1;
                    PlanePass.Runs dst = last ? PlanePass.of(out, oc, job[1] * planeOut) : PlanePass.of(mid);
                    if (st.axis() == 1) {
                        PlanePass.columns(src, dst, w, 0, w, st.zoom(), clip(st, j, 2), scratch);
                        h = st.zoom().m();
                    } else {
                        PlanePass.rows(src, dst, 0, h, st.zoom(), clip(st, j, 1), scratch);
                        w = st.zoom().m();
                    }
                    src = PlanePass.of(mid);
                }
                for (int k = job[1] + 1; k < job[2]; k++) {
                    out.copyWithin(oc, job[1] * planeOut, k * planeOut, planeOut);
                }
            }
        });
    }

    /** One thread's view of zFirst: output slices computed from the (at most two) input slices they read. */
    private static final class ZSlices {
        private final Grid in;
        private final int ic;
        private final int plane;
        private final float[][] rows; // (2, H·W) the last two input slices read
        private final int[] held = {-1, -1}; // their indices
        private final float[] result; // (H·W) the output slice

        ZSlices(Grid in, int ic, int plane) {
            this.in = in;
            this.ic = ic;
            this.plane = plane;
            this.rows = new float[2][plane];
            this.result = new float[plane];
        }

        /** @return output slice {@code k} of the zoom along axis 0, as float */
        float[] slice(LineZoom zoom, int k) {
            float[] a = input(zoom.tap(k, 0), null);
            float[] b = zoom.taps() > 1 ? input(zoom.tap(k, 1), a) : a;
            zoom.row(k, a, b, result, plane);
            return result;
        }

        /** @return input slice {@code z}, read unless held; never evicting {@code keep} */
        private float[] input(int z, float[] keep) {
            for (int r = 0; r < 2; r++) {
                if (held[r] == z) {
                    return rows[r];
                }
            }
            int r = rows[0] == keep ? 1 : rows[1] == keep ? 0 : held[0] <= held[1] ? 0 : 1;
            in.read(ic, (long) z * plane, rows[r], 0, plane);
            held[r] = z;
            return rows[r];
        }
    }

    /** @return (rows, columns) of a slice after {@code step} */
    private static int[] dims(int[] hw, Step step) {
        return step.axis() == 1 ? new int[] {step.zoom().m(), hw[1]} : new int[] {hw[0], step.zoom().m()};
    }

    /**
     * @param slice    the input slice's index along axis 0
     * @param lineAxis the axis the step's lines are indexed by (2 for columns, 1 for rows)
     */
    private static PlanePass.Clip clip(Step st, int slice, int lineAxis) {
        if (st.lo() == null) {
            return null;
        }
        IntUnaryOperator index = st.clipAxis() == 0 ? l -> slice : st.clipAxis() == lineAxis ? l -> l : l -> 0;
        return new PlanePass.Clip(st.lo(), st.hi(), index);
    }

    /** Copies channel {@code sc} into channel {@code dc} of a same-shape grid, rounded to its storage. */
    static void copy(Grid src, int sc, Grid dst, int dc) {
        int run = 1 << 14;
        Chunks.forEach(src.voxels(), run, (from, to) -> {
            float[] buf = new float[run];
            for (long i = from; i < to; i += run) {
                int len = (int) Math.min(run, to - i);
                src.read(sc, i, buf, 0, len);
                dst.write(dc, i, buf, 0, len);
            }
        });
    }
}
