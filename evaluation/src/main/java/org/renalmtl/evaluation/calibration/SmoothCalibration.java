package org.renalmtl.evaluation.calibration;

import java.util.Arrays;
import java.util.SplittableRandom;

import org.renalmtl.evaluation.roc.BootstrapAuc;
import org.renalmtl.evaluation.stats.Distributions;

/**
 * Calibration as papers plot it (Van Calster et al. 2016, {@code rms::val.prob}): a lowess curve of the
 * outcome against predicted risk ({@link Lowess}, f = 2/3, no robustness iterations, delta as
 * {@link #EXACT_UP_TO} says), a pointwise percentile bootstrap band for it, and the calibration intercept and slope with
 * Wald intervals (estimate ± z·SE from the observed information, R's {@code confint.default}).
 *
 * @param summary      Brier, intercept, slope and bins ({@link Calibration})
 * @param interceptLow lower limit of the calibration intercept
 * @param interceptHigh upper limit of the calibration intercept
 * @param slopeLow     lower limit of the calibration slope
 * @param slopeHigh    upper limit of the calibration slope
 * @param curve        (2, N) sorted risks and the lowess fit
 * @param grid         (G) risks at which the band is given
 * @param bandLow      (G) lower band limit (NaN where too few replicates reach)
 * @param bandHigh     (G) upper band limit
 * @param risks        (N) the predicted risks, for the histogram
 */
public record SmoothCalibration(Calibration.Result summary, double interceptLow, double interceptHigh,
                                double slopeLow, double slopeHigh, double[][] curve, double[] grid,
                                double[] bandLow, double[] bandHigh, double[] risks) {

    /** lowess span, R's default. */
    public static final double SPAN = 2.0 / 3.0;
    /** Points of the band's grid. */
    public static final int GRID = 41;
    private static final double CLAMP = 1e-12;

    /**
     * Computes the summary, the curve and the band.
     *
     * @param risk       (N) predicted risks in [0, 1]
     * @param outcome    (N) outcomes
     * @param bins       equal-count bins of the summary
     * @param level      confidence level of the intervals and the band
     * @param replicates bootstrap replicates of the band
     * @param seed       bootstrap seed
     */
    public static SmoothCalibration of(double[] risk, boolean[] outcome, int bins, double level, int replicates,
                                       long seed) {
        Calibration.Result base = Calibration.of(risk, outcome, bins);
        int n = risk.length;
        double[] logit = new double[n];
        double[] y = new double[n];
        for (int i = 0; i < n; i++) {
            double p = Math.min(1 - CLAMP, Math.max(CLAMP, risk[i]));
            logit[i] = Math.log(p / (1 - p));
            y[i] = outcome[i] ? 1 : 0;
        }
        double z = Distributions.normalQuantile(1 - (1 - level) / 2);
        double seIntercept = Double.NaN;
        double seSlope = Double.NaN;
        if (Double.isFinite(base.intercept())) {
            double info = 0;
            double h00 = 0;
            double h01 = 0;
            double h11 = 0;
            for (int i = 0; i < n; i++) {
                double p0 = expit(base.intercept() + logit[i]);
                info += p0 * (1 - p0);
                double p1 = expit(base.interceptWithSlope() + base.slope() * logit[i]);
                double w = p1 * (1 - p1);
                h00 += w;
                h01 += w * logit[i];
                h11 += w * logit[i] * logit[i];
            }
            seIntercept = 1 / Math.sqrt(info);
            seSlope = Math.sqrt(h00 / (h00 * h11 - h01 * h01));
        }
        double[][] curve = smooth(risk, y);
        double lo = curve[0][0];
        double hi = curve[0][n - 1];
        double[] grid = new double[GRID];
        for (int g = 0; g < GRID; g++) {
            grid[g] = lo + (hi - lo) * g / (GRID - 1);
        }
        double[][] reps = new double[GRID][replicates]; // (G, B) replicate curves at the grid, NaN outside their range
        SplittableRandom rng = new SplittableRandom(seed);
        double[] rx = new double[n];
        double[] ry = new double[n];
        for (int b = 0; b < replicates; b++) {
            for (int i = 0; i < n; i++) {
                int k = rng.nextInt(n);
                rx[i] = risk[k];
                ry[i] = y[k];
            }
            double[][] c = smooth(rx, ry);
            for (int g = 0; g < GRID; g++) {
                reps[g][b] = interpolate(c, grid[g]);
            }
        }
        double[] low = new double[GRID];
        double[] high = new double[GRID];
        for (int g = 0; g < GRID; g++) {
            double[] v = Arrays.stream(reps[g]).filter(Double::isFinite).sorted().toArray();
            // A grid point that most replicates do not reach (the extreme risks) gets no band.
            boolean enough = v.length >= replicates / 2;
            low[g] = enough ? Math.max(0, BootstrapAuc.quantile7(v, (1 - level) / 2)) : Double.NaN;
            high[g] = enough ? Math.min(1, BootstrapAuc.quantile7(v, 1 - (1 - level) / 2)) : Double.NaN;
        }
        return new SmoothCalibration(base, base.intercept() - z * seIntercept, base.intercept() + z * seIntercept,
            base.slope() - z * seSlope, base.slope() + z * seSlope, curve, grid, low, high, risk.clone());
    }

    /** The lowess curve at {@code x} by linear interpolation between fitted points (NaN outside their range). */
    public static double interpolate(double[][] curve, double x) {
        double[] xs = curve[0];
        double[] ys = curve[1];
        if (x < xs[0] || x > xs[xs.length - 1]) {
            return Double.NaN;
        }
        int k = Arrays.binarySearch(xs, x);
        if (k >= 0) {
            return ys[k];
        }
        int hi = -k - 1;
        int lo = hi - 1;
        double t = (x - xs[lo]) / (xs[hi] - xs[lo]);
        return ys[lo] + t * (ys[hi] - ys[lo]);
    }

    /**
     * Up to this many cases every point gets its own local fit (delta = 0, checked against statsmodels to
     * 1e-12); above it R's default delta = 0.01 · range interpolates between fits, which keeps the
     * bootstrap band's 500 refits linear in N instead of quadratic.
     */
    public static final int EXACT_UP_TO = 2_000;

    private static double[][] smooth(double[] x, double[] y) {
        double min = Arrays.stream(x).min().orElse(0);
        double max = Arrays.stream(x).max().orElse(0);
        return Lowess.smooth(x, y, SPAN, x.length <= EXACT_UP_TO ? 0 : 0.01 * (max - min));
    }

    private static double expit(double eta) {
        return 1 / (1 + Math.exp(-eta));
    }
}
