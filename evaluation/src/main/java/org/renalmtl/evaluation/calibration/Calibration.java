package org.renalmtl.evaluation.calibration;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Calibration of predicted risks against a binary outcome.
 * <ul>
 *   <li>Brier score: mean (p − y)².</li>
 *   <li>Calibration intercept ("calibration-in-the-large", Van Calster et al. 2016): α in
 *       logit P(y) = α + logit(p), i.e. the slope fixed at 1 by an offset; 0 when the mean risk is
 *       right.</li>
 *   <li>Calibration slope: β in logit P(y) = a + β·logit(p); 1 for a model that is neither over- nor
 *       under-fitted. The a of that fit is reported as well (rms {@code val.prob}'s "Intercept").</li>
 *   <li>Binned curve: patients sorted by risk and cut into equal-count bins; per bin the mean risk,
 *       the observed event fraction and the count.</li>
 * </ul>
 * Risks of exactly 0 or 1 have an infinite logit; they are clamped to [1e-12, 1 − 1e-12] for the two
 * regressions only.
 */
public final class Calibration {

    private static final double CLAMP = 1e-12;

    /**
     * One bin of the calibration curve.
     *
     * @param meanPredicted mean predicted risk in the bin
     * @param observed      fraction with the outcome
     * @param count         patients in the bin
     */
    public record Bin(double meanPredicted, double observed, int count) {
    }

    /**
     * Calibration summary.
     *
     * @param brier              Brier score
     * @param intercept          calibration intercept (slope fixed at 1)
     * @param slope              calibration slope
     * @param interceptWithSlope intercept of the model that also fits the slope
     * @param bins               binned calibration curve, lowest risks first
     */
    public record Result(double brier, double intercept, double slope, double interceptWithSlope, List<Bin> bins) {
    }

    private Calibration() {
    }

    /**
     * Computes the calibration summary.
     *
     * @param risk    (N) predicted risks in [0, 1]
     * @param outcome (N) outcomes
     * @param nBins   number of equal-count bins (fewer when N is smaller)
     */
    public static Result of(double[] risk, boolean[] outcome, int nBins) {
        int n = risk.length;
        double brier = 0;
        double[] logit = new double[n];
        for (int i = 0; i < n; i++) {
            double d = risk[i] - (outcome[i] ? 1 : 0);
            brier += d * d;
            double p = Math.min(1 - CLAMP, Math.max(CLAMP, risk[i]));
            logit[i] = Math.log(p / (1 - p));
        }
        brier /= n;
        double intercept;
        double slope;
        double interceptWithSlope;
        try {
            intercept = LogisticRegression.fit(outcome, null, logit).intercept();
            LogisticRegression.Fit full = LogisticRegression.fit(outcome, logit, null);
            slope = full.slope();
            interceptWithSlope = full.intercept();
        } catch (IllegalStateException e) {
            // Perfectly separating risks have no finite calibration slope; report it as undefined.
            intercept = Double.NaN;
            slope = Double.NaN;
            interceptWithSlope = Double.NaN;
        }
        return new Result(brier, intercept, slope, interceptWithSlope, bins(risk, outcome, nBins));
    }

    /** Equal-count bins of patients sorted by risk (bin sizes differ by at most one). */
    public static List<Bin> bins(double[] risk, boolean[] outcome, int nBins) {
        int n = risk.length;
        int k = Math.max(1, Math.min(nBins, n));
        Integer[] order = IntStream.range(0, n).boxed().toArray(Integer[]::new);
        Arrays.sort(order, Comparator.comparingDouble(i -> risk[i]));
        List<Bin> bins = new ArrayList<>(k);
        for (int b = 0; b < k; b++) {
            int from = (int) ((long) b * n / k);
            int to = (int) ((long) (b + 1) * n / k);
            double sumRisk = 0;
            int events = 0;
            for (int j = from; j < to; j++) {
                sumRisk += risk[order[j]];
                events += outcome[order[j]] ? 1 : 0;
            }
            int count = to - from;
            bins.add(new Bin(sumRisk / count, events / (double) count, count));
        }
        return bins;
    }
}
