package org.renalmtl.evaluation.roc;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.renalmtl.evaluation.ReferenceData;

/**
 * AUC, DeLong variance/CI and DeLong tests against pROC's own expected values on the aSAH data
 * (xrobin/pROC, tests/testthat; roc objects built as {@code roc(aSAH$outcome, aSAH$marker)}, i.e.
 * controls "Good", cases "Poor", direction "<"). pROC's {@code expect_equal} uses a 1.5e-8 relative
 * tolerance; we hold the values to 1e-9 (absolute; all are of order 1e-3..1) unless the published
 * value itself has fewer digits.
 */
class DeLongTest {

    private static final double TOL = 1e-9;

    private final RocSample wfns = ReferenceData.asahMarker("wfns");
    private final RocSample ndka = ReferenceData.asahMarker("ndka");
    private final RocSample s100b = ReferenceData.asahMarker("s100b");

    @Test
    void aucMatchesProc() {
        // test-auc.R, "full auc works"
        assertEquals(0.823678861788618, DeLong.auc(wfns), TOL);
        assertEquals(0.611957994579946, DeLong.auc(ndka), TOL);
        assertEquals(41, wfns.m());
        assertEquals(72, wfns.n());
    }

    @Test
    void delongVarianceMatchesProc() {
        // test-var.R, "var with delong works"
        assertEquals(0.00146991470882363, DeLong.variance(wfns), 1e-15);
        assertEquals(0.0031908105493913, DeLong.variance(ndka), 1e-15);
        assertEquals(0.00266868245717244, DeLong.variance(s100b), 1e-15);
    }

    @Test
    void delongCovarianceMatchesProc() {
        // test-cov.R, "cov with delong works"
        assertEquals(-0.000532967856762438, DeLong.covariance(wfns, ndka), 1e-15);
        assertEquals(-0.000756164938056579, DeLong.covariance(ndka, s100b), 1e-15);
        assertEquals(0.00119615567376754, DeLong.covariance(s100b, wfns), 1e-15);
    }

    @Test
    void delongCiMatchesProc() {
        // test-ci.auc.R, expected.ci.auc for r.ndka
        DeLong.AucEstimate e = DeLong.estimate(ndka, 0.95);
        assertEquals(0.501244999271703, e.low(), TOL);
        assertEquals(0.611957994579946, e.auc(), TOL);
        assertEquals(0.722670989888189, e.high(), TOL);
    }

    @Test
    void pairedTestMatchesProc() {
        // test-roc.test.R, "roc.test statistic and p are as expected with defaults"
        DeLong.PairedTest t1 = DeLong.pairedTest(wfns, s100b, 0.95);
        assertEquals(2.20898359144091, t1.z(), TOL);
        assertEquals(0.0271757822291882, t1.p(), TOL);
        assertEquals(0.0104061769564846, t1.low(), TOL);
        assertEquals(0.174214419249478, t1.high(), TOL);
        DeLong.PairedTest t2 = DeLong.pairedTest(wfns, ndka, 0.95);
        assertEquals(2.79777591868904, t2.z(), TOL);
        assertEquals(0.00514557970691098, t2.p(), TOL);
        assertEquals(0.0634011709339876, t2.low(), TOL);
        assertEquals(0.3600405634833566, t2.high(), TOL);
        DeLong.PairedTest t3 = DeLong.pairedTest(ndka, s100b, 0.95);
        assertEquals(-1.39077002573558, t3.z(), TOL);
        assertEquals(0.164295175223054, t3.p(), TOL);
        assertEquals(-0.2876917446341914, t3.low(), TOL);
        assertEquals(0.0488706064228094, t3.high(), TOL);
        // "two.sided roc.test produces identical p values when roc curves are reversed"
        DeLong.PairedTest t1b = DeLong.pairedTest(s100b, wfns, 0.95);
        assertEquals(-t1.z(), t1b.z(), 1e-12);
        assertEquals(t1.p(), t1b.p(), 1e-15);
        // "DeLong roc.test works when curves are identical"
        DeLong.PairedTest same = DeLong.pairedTest(wfns, wfns, 0.95);
        assertEquals(0.0, same.z());
        assertEquals(1.0, same.p());
    }

    @Test
    void unpairedTestMatchesProc() {
        // test-roc.test.R, "unpaired roc.test statistic and p are as expected"
        DeLong.UnpairedTest t1 = DeLong.unpairedTest(wfns, s100b);
        assertEquals(1.43490640926908, t1.d(), TOL);
        assertEquals(0.152825378808796, t1.p(), TOL);
        DeLong.UnpairedTest t2 = DeLong.unpairedTest(wfns, ndka);
        assertEquals(3.10125096778969, t2.d(), TOL);
        assertEquals(0.00220950791756457, t2.p(), TOL);
        DeLong.UnpairedTest t3 = DeLong.unpairedTest(ndka, s100b);
        assertEquals(-1.55995743389685, t3.d(), TOL);
        assertEquals(0.120192832430845, t3.p(), TOL);
    }

    @Test
    void hanleyMcNeilCtRatings() {
        // Hanley & McNeil (1982) CT rating data: normals [33,6,6,11,2], abnormals [3,2,2,11,33] on a
        // 1-5 scale; published AUC 0.893 (three decimals, so the tolerance is half a unit in the last place).
        RocSample s = new RocSample(expand(new int[]{3, 2, 2, 11, 33}), expand(new int[]{33, 6, 6, 11, 2}));
        assertEquals(0.893, DeLong.auc(s), 0.0005);
        // Exact value by counting pairs: (Σ_i a_i (Σ_{j<i} n_j + n_i/2)) / (51·58) = 2642/2958.
        assertEquals(2642.0 / 2958.0, DeLong.auc(s), 1e-15);
    }

    @Test
    void midrankAlgorithmEqualsBruteForceOnTiedData() {
        // Independent check of the O(N log N) placements: the O(mn) definitions of DeLong (1988).
        SplittableRandom rng = new SplittableRandom(7);
        for (int trial = 0; trial < 20; trial++) {
            int m = 2 + rng.nextInt(60);
            int n = 2 + rng.nextInt(60);
            double[] x = new double[m];
            double[] y = new double[n];
            for (int i = 0; i < m; i++) {
                x[i] = rng.nextInt(8) + 1.5; // few distinct values: many ties
            }
            for (int j = 0; j < n; j++) {
                y[j] = rng.nextInt(6);
            }
            RocSample s = new RocSample(x, y);
            double[] v10 = new double[m];
            double[] v01 = new double[n];
            double sum = 0;
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double psi = x[i] > y[j] ? 1 : x[i] == y[j] ? 0.5 : 0;
                    v10[i] += psi / n;
                    v01[j] += psi / m;
                    sum += psi;
                }
            }
            double auc = sum / (m * (double) n);
            double s10 = 0;
            double s01 = 0;
            for (double v : v10) {
                s10 += (v - auc) * (v - auc) / (m - 1);
            }
            for (double v : v01) {
                s01 += (v - auc) * (v - auc) / (n - 1);
            }
            DeLong.Placements p = DeLong.placements(s);
            assertEquals(auc, p.auc(), 1e-13);
            assertEquals(s10 / m + s01 / n, p.variance(), 1e-13);
            for (int i = 0; i < m; i++) {
                assertEquals(v10[i], p.v10()[i], 1e-13);
            }
            for (int j = 0; j < n; j++) {
                assertEquals(v01[j], p.v01()[j], 1e-13);
            }
        }
    }

    private static double[] expand(int[] counts) {
        int total = 0;
        for (int c : counts) {
            total += c;
        }
        double[] out = new double[total];
        int k = 0;
        for (int level = 0; level < counts.length; level++) {
            for (int i = 0; i < counts[level]; i++) {
                out[k++] = level + 1;
            }
        }
        return out;
    }
}
