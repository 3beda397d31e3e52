package org.renalmtl.segmentation;

import java.util.function.IntUnaryOperator;

/**
 * One separable resampling pass ({@link LineZoom}) over a 2-D array of {@code rows × w} floats, w fastest: along
 * its columns (each line runs down the rows; a whole grid zoomed along axis 0 is the plane (D, H·W)) or along its
 * rows (a slice zoomed along x). Lines are taken in blocks of {@link #BLOCK}; column blocks read and write runs
 * of adjacent lines, so memory is walked in order even though each line is strided. Results are stored as
 * float ({@code (float)} of the float64 value, optionally clipped first), then rounded by the destination.
 */
final class PlanePass {

    /** Lines zoomed together. */
    static final int BLOCK = 64;

    private PlanePass() {
    }

    /** Where a pass reads and writes: runs of floats by element offset. */
    interface Runs {
        /** Reads {@code len} values from offset {@code i}. */
        void read(long i, float[] dst, int off, int len);

        /** Writes {@code len} values at offset {@code i}. */
        void write(long i, float[] src, int off, int len);
    }

    /** @return the array, offset = array index */
    static Runs of(float[] a) {
        return new Runs() {
            @Override
            public void read(long i, float[] dst, int off, int len) {
                System.arraycopy(a, (int) i, dst, off, len);
            }

            @Override
            public void write(long i, float[] src, int off, int len) {
                System.arraycopy(src, off, a, (int) i, len);
            }
        };
    }

    /** @return channel {@code c} of the grid from voxel {@code base}, offset = voxel index from there */
    static Runs of(Grid g, int c, long base) {
        return new Runs() {
            @Override
            public void read(long i, float[] dst, int off, int len) {
                g.read(c, base + i, dst, off, len);
            }

            @Override
            public void write(long i, float[] src, int off, int len) {
                g.write(c, base + i, src, off, len);
            }
        };
    }

    /**
     * Output clipping: line {@code l} of the pass is clipped to {@code [lo[index(l)], hi[index(l)]]}.
     *
     * @param lo    lower bounds
     * @param hi    upper bounds
     * @param index line to bound index
     */
    record Clip(double[] lo, double[] hi, IntUnaryOperator index) {
    }

    /** One thread's buffers, grown on demand. */
    static final class Scratch {
        private float[] run = new float[0]; // (max(n, m, BLOCK)) one run read or written
        private double[] in = new double[0]; // (n, BLOCK) input lines, interleaved
        private double[] out = new double[0]; // (m, BLOCK) zoomed lines, interleaved
        private double[] work = new double[0]; // LineZoom's work array
        private final int[] bound = new int[BLOCK]; // (BLOCK) clip index of each line of the block

        private void fit(LineZoom z) {
            int r = Math.max(BLOCK, Math.max(z.n(), z.m()));
            if (run.length < r) {
                run = new float[r];
            }
            if (in.length < z.n() * BLOCK) {
                in = new double[z.n() * BLOCK];
            }
            if (out.length < z.m() * BLOCK) {
                out = new double[z.m() * BLOCK];
            }
            if (work.length < z.workLength(BLOCK)) {
                work = new double[z.workLength(BLOCK)];
            }
        }
    }

    /**
     * Zooms columns {@code [c0, c1)} of {@code src} ({@code zoom.n()} rows of {@code w}) into {@code dst}
     * ({@code zoom.m()} rows of {@code w}); line = column.
     */
    static void columns(Runs src, Runs dst, long w, long c0, long c1, LineZoom zoom, Clip clip, Scratch s) {
        s.fit(zoom);
        int n = zoom.n();
        int m = zoom.m();
        float[] run = s.run;
        double[] in = s.in;
        double[] out = s.out;
        for (long b = c0; b < c1; b += BLOCK) {
            int lines = (int) Math.min(BLOCK, c1 - b);
            for (int i = 0; i < n; i++) {
                src.read(i * w + b, run, 0, lines);
                int r = i * lines;
                for (int j = 0; j < lines; j++) {
                    in[r + j] = run[j];
                }
            }
            zoom.zoom(in, out, lines, s.work);
            bounds(clip, (int) b, lines, s.bound);
            for (int k = 0; k < m; k++) {
                storeAcross(out, k * lines, lines, clip, s.bound, run);
                dst.write(k * w + b, run, 0, lines);
            }
        }
    }

    /**
     * Zooms rows {@code [r0, r1)} of {@code src} (rows of {@code zoom.n()}) into {@code dst} (rows of
     * {@code zoom.m()}); line = row.
     */
    static void rows(Runs src, Runs dst, int r0, int r1, LineZoom zoom, Clip clip, Scratch s) {
        s.fit(zoom);
        int n = zoom.n();
        int m = zoom.m();
        float[] run = s.run;
        double[] in = s.in;
        double[] out = s.out;
        for (int b = r0; b < r1; b += BLOCK) {
            int lines = Math.min(BLOCK, r1 - b);
            for (int j = 0; j < lines; j++) {
                src.read((long) (b + j) * n, run, 0, n);
                for (int i = 0; i < n; i++) {
                    in[i * lines + j] = run[i];
                }
            }
            zoom.zoom(in, out, lines, s.work);
            bounds(clip, b, lines, s.bound);
            for (int j = 0; j < lines; j++) {
                storeAlong(out, j, lines, m, clip, s.bound[j], run);
                dst.write((long) (b + j) * m, run, 0, m);
            }
        }
    }

    private static void bounds(Clip clip, int first, int lines, int[] bound) {
        if (clip != null) {
            for (int j = 0; j < lines; j++) {
                bound[j] = clip.index().applyAsInt(first + j);
            }
        }
    }

    /** run[j] = (float) clip(out[from + j]): one output row of a column block, line j clipped by bound[j]. */
    private static void storeAcross(double[] out, int from, int lines, Clip clip, int[] bound, float[] run) {
        if (clip == null) {
            for (int j = 0; j < lines; j++) {
                run[j] = (float) out[from + j];
            }
            return;
        }
        for (int j = 0; j < lines; j++) {
            run[j] = (float) Math.min(Math.max(out[from + j], clip.lo()[bound[j]]), clip.hi()[bound[j]]);
        }
    }

    /** run[k] = (float) clip(out[k·lines + j]): line j of a row block, all of it clipped by {@code bound}. */
    private static void storeAlong(double[] out, int j, int lines, int m, Clip clip, int bound, float[] run) {
        if (clip == null) {
            for (int k = 0; k < m; k++) {
                run[k] = (float) out[k * lines + j];
            }
            return;
        }
        double lo = clip.lo()[bound];
        double hi = clip.hi()[bound];
        for (int k = 0; k < m; k++) {
            run[k] = (float) Math.min(Math.max(out[k * lines + j], lo), hi);
        }
    }
}
