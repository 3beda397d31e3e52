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

    private Normaliser() {
    }

    /**
     * @param data  (C, D, H, W) float32 grid
     * @param c     the channel
     * @param norm  its scheme
     * @param mask  (D, H, W) bytes, 1 inside the filled non-zero mask; needed only for ZScore with the mask
     */
    static void normalise(Grid data, int c, ChannelNormalization norm, MemorySegment mask) {
        long n = data.voxels();
        switch (norm.scheme()) {
            case NO_NORMALIZATION -> {
            }
            case CT_NORMALIZATION -> {
                float lo = (float) norm.percentile005();
                float hi = (float) norm.percentile995();
                float mean = (float) norm.mean();
                float div = (float) Math.max(norm.std(), EPS);
                for (long i = 0; i < n; i++) {
                    float v = Math.min(Math.max(data.get(c, i), lo), hi);
                    data.set(c, i, (v - mean) / div);
                }
            }
            case ZSCORE_NORMALIZATION -> {
                boolean masked = norm.useMaskForNorm();
                double sum = 0;
                long count = 0;
                for (long i = 0; i < n; i++) {
                    if (!masked || mask.get(ValueLayout.JAVA_BYTE, i) != 0) {
                        sum += data.get(c, i);
                        count++;
                    }
                }
                if (count == 0) {
                    return;
                }
                double mean = sum / count;
                double sq = 0;
                for (long i = 0; i < n; i++) {
                    if (!masked || mask.get(ValueLayout.JAVA_BYTE, i) != 0) {
                        double d = data.get(c, i) - mean;
                        sq += d * d;
                    }
                }
                float m = (float) mean;
                float div = (float) Math.max((float) Math.sqrt(sq / count), EPS);
                for (long i = 0; i < n; i++) {
                    if (!masked || mask.get(ValueLayout.JAVA_BYTE, i) != 0) {
                        data.set(c, i, (data.get(c, i) - m) / div);
                    }
                }
            }
            default -> throw new IllegalStateException("unhandled scheme " + norm.scheme());
        }
    }
}
