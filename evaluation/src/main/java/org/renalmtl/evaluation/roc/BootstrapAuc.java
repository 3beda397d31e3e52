package org.renalmtl.evaluation.roc;

import java.util.Arrays;

/**
 * Stratified percentile bootstrap of the AUC, as pROC's {@code ci.auc(method = "bootstrap",
 * boot.stratified = TRUE)}: each replicate draws m cases from the cases and n controls from the
 * controls with replacement, so every replicate has both classes; the CI is the pair of type-7
 * quantiles (R's {@code quantile} default) of the replicate AUCs at (1 − level)/2 and (1 + level)/2.
 *
 * <p>Seeded with {@link java.util.SplittableRandom}, so a seed reproduces the interval exactly; R's
 * random stream is different, so the limits agree with pROC only within Monte-Carlo error. Replicates
 * cost O(N) each after one sort (see {@link StratifiedResampler}).
 */
public final class BootstrapAuc {

    /** Replicates used when none is given (pROC's {@code boot.n} default). */
    public static final int DEFAULT_REPLICATES = 2000;

    /**
     * A bootstrap confidence interval.
     *
     * @param low        lower percentile limit
     * @param median     median of the replicate AUCs
     * @param high       upper percentile limit
     * @param level      confidence level
     * @param replicates number of replicates
     * @param seed       seed of the random stream
     */
    public record Interval(double low, double median, double high, double level, int replicates, long seed) {
    }

    private BootstrapAuc() {
    }

    /** Replicate AUCs, (replicates), in draw order. */
    public static double[] replicates(RocSample s, int replicates, long seed) {
        StratifiedResampler resampler = new StratifiedResampler(s, seed);
        double[] out = new double[replicates];
        for (int r = 0; r < replicates; r++) {
            resampler.next();
            out[r] = resampler.auc();
        }
        return out;
    }

    /** Percentile CI from {@code replicates} stratified replicates. */
    public static Interval interval(RocSample s, double level, int replicates, long seed) {
        if (replicates < 2) {
            throw new IllegalArgumentException("need at least 2 bootstrap replicates, got " + replicates);
        }
        double[] aucs = replicates(s, replicates, seed);
        Arrays.sort(aucs);
        return new Interval(quantile7(aucs, (1 - level) / 2), quantile7(aucs, 0.5),
            quantile7(aucs, (1 + level) / 2), level, replicates, seed);
    }

    /** R's type-7 quantile of a sorted array: linear interpolation at h = (N − 1)p. */
    public static double quantile7(double[] sorted, double p) {
        double h = (sorted.length - 1) * p;
        int lo = (int) Math.floor(h);
        int hi = Math.min(lo + 1, sorted.length - 1);
        return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
    }
}
