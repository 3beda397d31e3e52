package org.renalmtl.evaluation.roc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.renalmtl.evaluation.ReferenceData;

/** ROC points, the Youden point and the bootstrap CI on aSAH s100b. */
class RocCurveAndBootstrapTest {

    private final RocSample s100b = ReferenceData.asahMarker("s100b");

    @Test
    void youdenPointMatchesProcCoordsBest() {
        // pROC tests/testthat/test-coords.R "coords with best threshold works": the best row of
        // coords(r.s100b, "all") is the one at threshold 0.205 (helper-coords-expected.R row 18:
        // specificity 58/72, sensitivity 26/41, ppv 0.65, npv 58/73, tp 26, fp 14, tn 58, fn 15).
        RocCurve curve = RocCurve.of(s100b);
        assertEquals(51, curve.points().size()); // dim(coords(r.s100b, "all")) = 51 rows
        RocCurve.OperatingPoint best = curve.youden();
        assertEquals(0.20500000000000002, best.threshold(), 1e-15);
        assertEquals(58.0 / 72, best.specificity(), 1e-15);
        assertEquals(26.0 / 41, best.sensitivity(), 1e-15);
        assertEquals(0.65, best.ppv(), 1e-15);
        assertEquals(58.0 / 73, best.npv(), 1e-15);
        assertArrayEquals(new int[]{26, 14, 58, 15}, new int[]{best.tp(), best.fp(), best.tn(), best.fn()});
        // The same numbers at a user threshold of 0.205 (row 18) and 0.055 (row 4: se 40/41, sp 8/72).
        RocCurve.OperatingPoint user = curve.at(0.205);
        assertArrayEquals(new int[]{26, 14, 58, 15}, new int[]{user.tp(), user.fp(), user.tn(), user.fn()});
        RocCurve.OperatingPoint low = curve.at(0.055);
        assertEquals(40.0 / 41, low.sensitivity(), 1e-15);
        assertEquals(8.0 / 72, low.specificity(), 1e-15);
    }

    @Test
    void trapezoidOfTheCurveIsTheAuc() {
        // Independent check: the area under the empirical ROC polygon equals the Mann-Whitney AUC.
        RocCurve curve = RocCurve.of(s100b);
        double area = 0;
        var pts = curve.points();
        for (int i = 1; i < pts.size(); i++) {
            double x0 = 1 - pts.get(i - 1).specificity();
            double x1 = 1 - pts.get(i).specificity();
            area += (x0 - x1) * (pts.get(i - 1).sensitivity() + pts.get(i).sensitivity()) / 2;
        }
        assertEquals(DeLong.auc(s100b), area, 1e-12);
    }

    @Test
    void bootstrapIsReproducibleStratifiedAndNearDelong() {
        BootstrapAuc.Interval a = BootstrapAuc.interval(s100b, 0.95, 2000, 42);
        BootstrapAuc.Interval b = BootstrapAuc.interval(s100b, 0.95, 2000, 42);
        assertEquals(a, b);
        // pROC's printed example, ci.auc(r.s100b) = 0.6301-0.8326 (DeLong); 2000 stratified bootstrap
        // replicates of the same data give limits that differ by Monte-Carlo error (sd of a 2.5%
        // quantile of 2000 draws ~ 0.005 here) plus the bootstrap's own skew: within 0.02.
        DeLong.AucEstimate d = DeLong.estimate(s100b, 0.95);
        assertEquals(0.6301, d.low(), 5e-5);
        assertEquals(0.8326, d.high(), 5e-5);
        assertEquals(d.low(), a.low(), 0.02);
        assertEquals(d.high(), a.high(), 0.02);
        assertTrue(a.low() < a.median() && a.median() < a.high());
        // Seeds change the interval by Monte-Carlo error only.
        BootstrapAuc.Interval c = BootstrapAuc.interval(s100b, 0.95, 2000, 7);
        assertEquals(a.low(), c.low(), 0.015);
        assertEquals(a.high(), c.high(), 0.015);
    }

    @Test
    void quantileType7MatchesR() {
        // R: quantile(c(1, 2, 3, 4, 10), c(0.025, 0.5, 0.975)) = 1.1, 3.0, 9.4
        double[] x = {1, 2, 3, 4, 10};
        assertEquals(1.1, BootstrapAuc.quantile7(x, 0.025), 1e-12);
        assertEquals(3.0, BootstrapAuc.quantile7(x, 0.5), 1e-12);
        assertEquals(9.4, BootstrapAuc.quantile7(x, 0.975), 1e-12);
    }

    @Test
    void sensitivityBandFollowsTheCurve() {
        SensitivityBand.Band b = SensitivityBand.compute(s100b, 0.95, 500, 1, 51);
        RocCurve curve = RocCurve.of(s100b);
        // At specificity 58/72 (a vertex of the curve: the Youden point) the band's curve value is the
        // vertex's sensitivity; at specificity 0 the curve has sensitivity 1.
        assertEquals(26.0 / 41, SensitivityBand.sensitivityAt(s100b, new double[]{58.0 / 72})[0], 1e-15);
        assertEquals(1.0, b.sensitivity()[0], 1e-15);
        int inside = 0;
        for (int k = 0; k < b.specificity().length; k++) {
            assertTrue(b.low()[k] <= b.high()[k]);
            inside += b.low()[k] <= b.sensitivity()[k] && b.sensitivity()[k] <= b.high()[k] ? 1 : 0;
        }
        assertTrue(inside >= 45, "observed curve inside its own 95% band at " + inside + " of 51 points");
        assertEquals(curve.points().size(), 51);
    }
}
