package org.renalmtl.evaluation.roc;

import java.util.Arrays;

/**
 * Pointwise confidence band of an ROC curve: a stratified percentile bootstrap of the sensitivity at
 * fixed specificities, in the manner of pROC's {@code ci.se(roc, specificities = ...)}, with the
 * sensitivity read off the drawn ROC polygon so that band and curve agree.
 * Used for the shaded band of the ROC plots.
 */
public final class SensitivityBand {

    /**
     * The band.
     *
     * @param specificity (K) specificities of the grid, ascending
     * @param sensitivity (K) sensitivity of the observed curve
     * @param low         (K) lower percentile limit
     * @param high        (K) upper percentile limit
     */
    public record Band(double[] specificity, double[] sensitivity, double[] low, double[] high) {
    }

    private SensitivityBand() {
    }

    /**
     * Computes the band on an evenly spaced grid of {@code gridPoints} specificities from 0 to 1.
     *
     * @param s          the sample
     * @param level      confidence level
     * @param replicates bootstrap replicates
     * @param seed       random seed
     * @param gridPoints number of specificities (≥ 2)
     */
    public static Band compute(RocSample s, double level, int replicates, long seed, int gridPoints) {
        double[] grid = new double[gridPoints];
        for (int k = 0; k < gridPoints; k++) {
            grid[k] = k / (double) (gridPoints - 1);
        }
        double[] observed = sensitivityAt(s, grid);
        double[][] boot = new double[gridPoints][replicates]; // (G, B)
        StratifiedResampler resampler = new StratifiedResampler(s, seed);
        for (int b = 0; b < replicates; b++) {
            resampler.next();
            double[] se = interpolate(resampler.points(), grid);
            for (int k = 0; k < gridPoints; k++) {
                boot[k][b] = se[k];
            }
        }
        double[] low = new double[gridPoints];
        double[] high = new double[gridPoints];
        for (int k = 0; k < gridPoints; k++) {
            Arrays.sort(boot[k]);
            low[k] = BootstrapAuc.quantile7(boot[k], (1 - level) / 2);
            high[k] = BootstrapAuc.quantile7(boot[k], (1 + level) / 2);
        }
        return new Band(grid, observed, low, high);
    }

    /**
     * Sensitivity of the empirical curve at each specificity of the grid, read off the ROC polygon that
     * the plots draw: linear between neighbouring points, and the highest sensitivity where the curve has
     * a vertical step at exactly that specificity.
     */
    static double[] sensitivityAt(RocSample s, double[] specificities) {
        var points = RocCurve.of(s).points();
        double[][] pts = new double[points.size()][];
        for (int i = 0; i < pts.length; i++) {
            pts[i] = new double[]{points.get(i).specificity(), points.get(i).sensitivity()};
        }
        return interpolate(pts, specificities);
    }

    /**
     * @param points        (P, 2) {specificity, sensitivity} in order of rising specificity
     * @param specificities ascending grid
     */
    private static double[] interpolate(double[][] points, double[] specificities) {
        double[] out = new double[specificities.length];
        int k = 0;
        for (int g = 0; g < specificities.length; g++) {
            double sp = specificities[g];
            while (k < points.length && points[k][0] < sp) {
                k++;
            }
            if (k == points.length) {
                out[g] = 0;
            } else if (points[k][0] == sp || k == 0) {
                out[g] = points[k][1];
            } else {
                double f = (sp - points[k - 1][0]) / (points[k][0] - points[k - 1][0]);
                out[g] = points[k - 1][1] + f * (points[k][1] - points[k - 1][1]);
            }
        }
        return out;
    }
}
