package org.renalmtl.evaluation.calibration;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;

import org.junit.jupiter.api.Test;

/** Calibration statistics, checked by properties that hold exactly for a logistic model's own fit. */
class CalibrationTest {

    @Test
    void inSampleLogisticFitIsPerfectlyCalibrated() {
        // For the MLE of logit P(y) = a + b·x, refitting y on its own linear predictor gives slope 1 and
        // intercept 0, and Σ p = Σ y, so calibration-in-the-large is 0: exact identities of the score
        // equations, independent of any reference implementation.
        double[] x = new double[200];
        boolean[] y = new boolean[200];
        java.util.SplittableRandom rng = new java.util.SplittableRandom(3);
        for (int i = 0; i < x.length; i++) {
            x[i] = rng.nextDouble(-3, 3);
            y[i] = rng.nextDouble() < 1 / (1 + Math.exp(-(0.4 + 1.3 * x[i])));
        }
        LogisticRegression.Fit fit = LogisticRegression.fit(y, x, null);
        double[] p = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            p[i] = fit.predict(x[i], 0);
        }
        Calibration.Result c = Calibration.of(p, y, 10);
        assertEquals(0.0, c.intercept(), 1e-9);
        assertEquals(1.0, c.slope(), 1e-9);
        assertEquals(0.0, c.interceptWithSlope(), 1e-9);
        double brier = 0;
        for (int i = 0; i < x.length; i++) {
            brier += Math.pow(p[i] - (y[i] ? 1 : 0), 2) / x.length;
        }
        assertEquals(brier, c.brier(), 1e-15);
        assertEquals(10, c.bins().size());
        assertEquals(200, c.bins().stream().mapToInt(Calibration.Bin::count).sum());
    }

    @Test
    void overconfidentRisksHaveSlopeBelowOne() {
        // Risks whose logits are doubled: the calibration slope of the doubled logits is exactly 1/2 of
        // the original fit's slope (1 here).
        double[] x = new double[300];
        boolean[] y = new boolean[300];
        java.util.SplittableRandom rng = new java.util.SplittableRandom(5);
        for (int i = 0; i < x.length; i++) {
            x[i] = rng.nextDouble(-2, 2);
            y[i] = rng.nextDouble() < 1 / (1 + Math.exp(-x[i]));
        }
        LogisticRegression.Fit fit = LogisticRegression.fit(y, x, null);
        double[] p = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            double eta = fit.intercept() + fit.slope() * x[i];
            p[i] = 1 / (1 + Math.exp(-2 * eta));
        }
        assertEquals(0.5, Calibration.of(p, y, 5).slope(), 1e-9);
    }

    @Test
    void risksCrowdedNearOneStillFit() {
        // A seeded model's risks on 26 phantom cases, all in [0.965, 0.996], against outcomes with 8 of 26 positive:
        // offsets of +3.3 to +5.5 from a start at 0 make the full Newton step overshoot and diverge; glm.fit's step
        // halving converges. Reference: statsmodels GLM(Binomial) with tol 1e-14, the same as R's
        // glm(y ~ offset(logit(p)), binomial) and glm(y ~ logit(p), binomial).
        double[] risk = {0.977112, 0.990396, 0.993115, 0.979216, 0.977439, 0.986611, 0.976571, 0.994986, 0.988649,
            0.976355, 0.985710, 0.990734, 0.977364, 0.972398, 0.965322, 0.977903, 0.981176, 0.985625, 0.973724, 0.992567,
            0.995925, 0.978547, 0.972014, 0.982799, 0.976582, 0.979812};
        boolean[] outcome = new boolean[risk.length];
        for (int i = 2; i < risk.length; i += 3) {
            outcome[i] = true;
        }
        Calibration.Result r = Calibration.of(risk, outcome, 10);
        assertEquals(-4.9775149900747, r.intercept(), 1e-9);
        assertEquals(-7.105509270964957, r.interceptWithSlope(), 1e-8);
        assertEquals(1.5051475775798506, r.slope(), 1e-8);
    }

    @Test
    void binsAreEqualCount() {
        List<Calibration.Bin> bins = Calibration.bins(new double[]{0.1, 0.9, 0.2, 0.8, 0.5}, new boolean[]{false, true, false, true, true}, 2);
        assertEquals(2, bins.get(0).count());
        assertEquals(3, bins.get(1).count());
        assertEquals(0.15, bins.get(0).meanPredicted(), 1e-15);
        assertEquals(1.0, bins.get(1).observed(), 1e-15);
    }
}
