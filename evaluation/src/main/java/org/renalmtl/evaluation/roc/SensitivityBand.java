package org.renalmtl.evaluation.roc;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Pointwise confidence band of an ROC curve: a stratified percentile bootstrap of the sensitivity at
 * fixed specificities, as pROC's {@code ci.se(roc, specificities = ...)} (the empirical curve's
 * sensitivity at specificity sp is the largest sensitivity among its points with specificity ≥ sp).
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
        double[][] boot = new double[gridPoints][replicates]; // (K, B)
        SplittableRandom rng = new SplittableRandom(seed);
        double[] bx = new double[s.m()];
        double[] by = new double[s.n()];
        for (int b = 0; b < replicates; b++) {
            for (int i = 0; i < bx.length; i++) {
                bx[i] = s.cases()[rng.nextInt(bx.length)];
            }
            for (int j = 0; j < by.length; j++) {
                by[j] = s.controls()[rng.nextInt(by.length)];
            }
            double[] se = sensitivityAt(new RocSample(bx, by), grid);
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

    /** Sensitivity of the empirical curve at each specificity of the grid. */
    static double[] sensitivityAt(RocSample s, double[] specificities) {
        double[] out = new double[specificities.length];
        var points = RocCurve.of(s).points(); // sensitivity falls and specificity rises along the list
        int k = 0;
        for (int g = 0; g < specificities.length; g++) {
            while (k < points.size() && points.get(k).specificity() < specificities[g] - 1e-12) {
                k++;
            }
            out[g] = k < points.size() ? points.get(k).sensitivity() : 0;
        }
        return out;
    }
}
