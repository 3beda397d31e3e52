package org.renalmtl.segmentation;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * nnU-Net's default normalisation schemes on one channel, in place, in float32 as nnU-Net computes them: the
 * bounds, mean and divisor are rounded to float32 and each voxel is clipped, shifted and divided in float32.
 * Image statistics (ZScore) are summed in float64 and rounded to float32 (numpy sums float32 pairwise, so the
 * two agree to about one float32 unit).
 */
final class Normaliser {

    private static final double EPS = 1e-8;
    private static final int RUN = 1 << 14; // voxels read at a time

    private Normaliser() {
    }

    /**
     * @param data  (C, D, H, W) float32 grid
     * @param c     the channel
     * @param norm  its scheme
     * @param mask  (D, H, W) bytes, 1 inside the filled non-zero mask; needed only for ZScore with the mask
     */
    static void normalise(Grid data, int c, ChannelNormalization norm, MemorySegment mask) {
        switch (norm.scheme()) {
            case NO_NORMALIZATION -> {
            }
            case CT_NORMALIZATION -> {
                float lo = (float) norm.percentile005();
                float hi = (float) norm.percentile995();
                float mean = (float) norm.mean();
                float div = (float) Math.max(norm.std(), EPS);
                apply(data, c, null, v -> (Math.min(Math.max(v, lo), hi) - mean) / div);
            }
            case ZSCORE_NORMALIZATION -> {
                MemorySegment m = norm.useMaskForNorm() ? mask : null;
                double[] moments = sum(data, c, m, false, 0.0);
                long count = (long) moments[1];
                if (count == 0) {
                    return;
                }
                double mean = moments[0] / count;
                double sq = sum(data, c, m, true, mean)[0];
                float fm = (float) mean;
                float div = (float) Math.max((float) Math.sqrt(sq / count), EPS);
                apply(data, c, m, v -> (v - fm) / div);
            }
            default -> throw new IllegalStateException("unhandled scheme " + norm.scheme());
        }
    }

    /**
     * {sum, count} over the voxels in the mask (all when null) of v, or of (v - centre)² with {@code squares},
     * added in voxel order (the order fixes the float64 rounding, so this one stays sequential).
     */
    private static double[] sum(Grid data, int c, MemorySegment mask, boolean squares, double centre) {
        long n = data.voxels();
        float[] v = new float[RUN];
        byte[] in = new byte[RUN];
        double sum = 0;
        long count = 0;
        for (long i = 0; i < n; i += RUN) {
            int len = (int) Math.min(RUN, n - i);
            data.read(c, i, v, 0, len);
            if (mask != null) {
                MemorySegment.copy(mask, ValueLayout.JAVA_BYTE, i, in, 0, len);
            }
            for (int j = 0; j < len; j++) {
                if (mask == null || in[j] != 0) {
                    if (squares) {
                        double d = v[j] - centre;
                        sum += d * d;
                    } else {
                        sum += v[j];
                    }
                    count++;
                }
            }
        }
        return new double[] {sum, count};
    }

    /** v = f(v) for the voxels in the mask (all when null), in parallel. */
    private static void apply(Grid data, int c, MemorySegment mask, FloatUnaryOperator f) {
        Chunks.forEach(data.voxels(), RUN, (from, to) -> {
            float[] v = new float[RUN];
            byte[] in = new byte[RUN];
            for (long i = from; i < to; i += RUN) {
                int len = (int) Math.min(RUN, to - i);
                data.read(c, i, v, 0, len);
                if (mask != null) {
                    MemorySegment.copy(mask, ValueLayout.JAVA_BYTE, i, in, 0, len);
                }
                for (int j = 0; j < len; j++) {
                    if (mask == null || in[j] != 0) {
                        v[j] = f.apply(v[j]);
                    }
                }
                data.write(c, i, v, 0, len);
            }
        });
    }

    /** A float function. */
    @FunctionalInterface
    private interface FloatUnaryOperator {
        float apply(float v);
    }
}
