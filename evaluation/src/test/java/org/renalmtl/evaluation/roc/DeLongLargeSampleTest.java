package org.renalmtl.evaluation.roc;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

/**
 * The AUC of a sample with more than 46 340 cases: m(m + 1) overflowed an int, and a 1 000 000-row
 * evaluation reported AUC 0.976 for a marker whose AUC is 0.855 (and 0.62 for pure noise).
 */
class DeLongLargeSampleTest {

    @Test
    void aucOfManyCasesEqualsTheAreaUnderTheEmpiricalCurve() {
        SplittableRandom rng = new SplittableRandom(17);
        int n = 120_000;
        double[] x = new double[n];
        boolean[] y = new boolean[n];
        for (int i = 0; i < n; i++) {
            y[i] = i % 2 == 0; // 60 000 cases
            x[i] = Math.round((rng.nextGaussian() + (y[i] ? 1 : 0)) * 1000) / 1000.0; // with ties
        }
        RocSample sample = RocSample.of(x, y);
        // Trapezoidal area of the empirical ROC polygon: an independent route to Mann–Whitney with ties as ½.
        List<RocCurve.OperatingPoint> pts = RocCurve.of(sample).points();
        double area = 0;
        for (int k = 1; k < pts.size(); k++) {
            RocCurve.OperatingPoint a = pts.get(k - 1);
            RocCurve.OperatingPoint b = pts.get(k);
            area += (b.specificity() - a.specificity()) * (a.sensitivity() + b.sensitivity()) / 2;
        }
        assertEquals(area, DeLong.auc(sample), 1e-9);
        // and the binormal value Φ(1/√2) = 0.7602 to within sampling error
        assertEquals(0.7602, DeLong.auc(sample), 0.01);
    }
}
