package org.renalmtl.evaluation.mrmc;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;
import org.renalmtl.evaluation.ReferenceData;
import org.renalmtl.evaluation.io.CsvTable;
import org.renalmtl.evaluation.io.ReaderStudyCsv;
import org.renalmtl.evaluation.roc.DeLong;
import org.renalmtl.evaluation.roc.RocSample;

/**
 * OR analysis of the VanDyke data (5 readers × 2 treatments × 114 cases) against the MRMCaov output
 * printed in its JSS manuscript (brian-j-smith/MRMCaov, docs/jss/MRMCaov.tex, section "Covariance
 * methods" and "Fixed factors"). The published numbers carry 7 significant digits, so each is
 * compared to half a unit in its last printed place (relative 5e-7 or better); the exact algebra
 * between them is then checked to 1e-12.
 */
class ObuchowskiRocketteTest {

    private static ReaderStudy vanDyke() {
        CsvTable t = CsvTable.read(ReferenceData.statsDir().resolve("VanDyke_MRMCaov.csv"));
        return ReaderStudyCsv.read(t, new ReaderStudyCsv.Columns("reader", "treatment", "case", "truth", "rating", "1"),
            null).study();
    }

    private static void near(double published, double ours) {
        // half a unit in the 7th significant digit of the printed value
        double ulp7 = Math.pow(10, Math.floor(Math.log10(Math.abs(published))) - 6);
        assertEquals(published, ours, 0.5 * ulp7 + 1e-15, "published " + published);
    }

    @Test
    void readerAucsAndJackknifeComponentsMatchFixedReaderOutput() {
        // MRMCaov.tex, "Fixed readers": mrmc(empirical_auc(truth, rating), treatment, fixed(reader), case)
        // (jackknife covariance, the default).
        ObuchowskiRockette.Result r = ObuchowskiRockette.analyze(vanDyke(), ObuchowskiRockette.CovarianceMethod.JACKKNIFE, 0.95);
        double[][] published = {{0.9196457, 0.8587762, 0.9038647, 0.9731079, 0.8297907},
            {0.9478261, 0.9053140, 0.9217391, 0.9993559, 0.9299517}};
        double[][] publishedSe = {{0.0301255164, 0.0363753335, 0.0282594118, 0.0173388332, 0.0417201720},
            {0.0221416887, 0.0298151099, 0.0297673065, 0.0007213348, 0.0262023046}};
        for (int t = 0; t < 2; t++) {
            for (int rd = 0; rd < 5; rd++) {
                near(published[t][rd], r.auc()[t][rd]);
                int g = t * 5 + rd;
                assertEquals(publishedSe[t][rd], Math.sqrt(r.covariance()[g][g]), 5e-11);
            }
        }
        near(0.8970370, r.testMeans().get(0).estimate());
        near(0.9408374, r.testMeans().get(1).estimate());
        near(0.0008022883, r.covariances().var());
        near(0.0003466137, r.covariances().cov1());
        near(0.0003440748, r.covariances().cov2());
        near(0.0002390284, r.covariances().cov3());
        ObuchowskiRockette.FixedReaders f = r.fixedReaders();
        near(0.0008758604, f.denominator());
        near(5.475953, f.chiSquare());
        near(0.01927984, f.p());
        near(-0.04380032, f.differences().get(0).estimate());
        near(0.01871748, f.differences().get(0).se());
        near(-0.08048591, f.differences().get(0).low());
        near(-0.00711473, f.differences().get(0).high());
        near(0.0010141028, f.testMeans().get(0).msR());
        near(0.0004839618, f.testMeans().get(0).cov2());
        near(0.02428971, f.testMeans().get(0).se());
        near(0.8494301, f.testMeans().get(0).low());
        near(0.9737183, f.testMeans().get(1).high());
    }

    @Test
    void jackknifeRandomReaderAnalysisMatchesMrmcaovReadme() {
        // MRMCaov README.md (version 0.1.8, "Getting Started"): summary(mrmc(empirical_auc(truth, rating),
        // treatment, reader, case, data = VanDyke)), jackknife covariance, random readers and cases. The
        // same F, df2 and p appear in RJafroc's documentation for dataset02 (= VanDyke), OR method.
        ObuchowskiRockette.Result r = ObuchowskiRockette.analyze(vanDyke(), ObuchowskiRockette.CovarianceMethod.JACKKNIFE, 0.95);
        near(0.0015349993, r.readerVariance());
        near(0.0002004025, r.testReaderVariance());
        ObuchowskiRockette.GlobalTest g = r.global();
        near(0.004796171, g.msT());
        near(0.0005510306, g.msTR());
        near(0.001076263, g.denominator());
        near(4.456319, g.f());
        assertEquals(1.0, g.df1());
        near(15.25967, g.df2());
        near(0.05166569, g.p());
        ObuchowskiRockette.Difference d = r.differences().get(0);
        near(-0.04380032, d.estimate());
        near(0.02074862, d.se());
        near(15.25967, d.df());
        near(-0.0879594986, d.low());
        near(0.0003588544, d.high());
        near(-2.110999, d.statistic());
        near(0.05166569, d.p());
        ObuchowskiRockette.TestMean m1 = r.testMeans().get(0);
        near(0.8970370, m1.estimate());
        near(0.003082629, m1.msR());
        near(0.0004839618, m1.cov2());
        near(0.03317360, m1.se());
        near(12.74465, m1.df());
        near(0.8252236, m1.low());
        near(0.9688505, m1.high());
        ObuchowskiRockette.TestMean m2 = r.testMeans().get(1);
        near(0.9408374, m2.estimate());
        near(0.001304602, m2.msR());
        near(0.0002041879, m2.cov2());
        near(0.02156637, m2.se());
        near(12.71019, m2.df());
        near(0.8941378, m2.low());
        near(0.9875369, m2.high());
        // Exact algebra between our own numbers (no rounding involved).
        assertEquals(g.msTR() + 5 * (r.covariances().cov2() - r.covariances().cov3()), g.denominator(), 1e-15);
        assertEquals(g.denominator() * g.denominator() / (g.msTR() * g.msTR() / 4), g.df2(), 1e-9);
        assertEquals(Math.sqrt(2.0 / 5 * g.denominator()), d.se(), 1e-15);
        assertEquals(d.statistic() * d.statistic(), g.f(), 1e-12);
    }

    @Test
    void delongCovarianceMatchesRandomReaderOutput() {
        // MRMCaov.tex: mrmc(empirical_auc(truth, rating), treatment, reader, case, cov = DeLong)
        ObuchowskiRockette.Result r = ObuchowskiRockette.analyze(vanDyke(), ObuchowskiRockette.CovarianceMethod.DELONG, 0.95);
        near(0.0015364254, r.readerVariance());
        near(0.0002045840, r.testReaderVariance());
        near(0.0007921325, r.covariances().var());
        near(0.0003420090, r.covariances().cov1());
        near(0.0003395265, r.covariances().cov2());
        near(0.0002358497, r.covariances().cov3());
        ObuchowskiRockette.GlobalTest g = r.global();
        near(0.004796171, g.msT());
        near(0.0005510306, g.msTR());
        near(0.001069415, g.denominator());
        near(4.484854, g.f());
        assertEquals(1.0, g.df1());
        near(15.06611, g.df2());
        near(0.05123303, g.p());
        ObuchowskiRockette.Difference d = r.differences().get(0);
        near(-0.04380032, d.estimate());
        near(0.0206825, d.se());
        near(-0.0878671960, d.low());
        near(0.0002665519, d.high());
        near(-2.117747, d.statistic());
        near(0.05123303, d.p());
        ObuchowskiRockette.TestMean m1 = r.testMeans().get(0);
        near(0.8970370, m1.estimate());
        near(0.003082629, m1.msR());
        near(0.0004775239, m1.cov2());
        near(0.03307642, m1.se());
        near(12.59597, m1.df());
        near(0.8253461, m1.low());
        near(0.9687280, m1.high());
        ObuchowskiRockette.TestMean m2 = r.testMeans().get(1);
        near(0.9408374, m2.estimate());
        near(0.001304602, m2.msR());
        near(0.0002015292, m2.cov2());
        near(0.02150464, m2.se());
        near(12.56530, m2.df());
        near(0.8942155, m2.low());
        near(0.9874592, m2.high());
    }

    @Test
    void closedFormJackknifeEqualsBruteForceDeletion() {
        ReaderStudy s = vanDyke();
        ObuchowskiRockette.Result r = ObuchowskiRockette.analyze(s, ObuchowskiRockette.CovarianceMethod.JACKKNIFE, 0.95);
        // Recompute the (0,0)-(1,0) covariance by deleting each case and recomputing both AUCs.
        int nc = s.caseCount();
        double[] a = new double[nc];
        double[] b = new double[nc];
        for (int c = 0; c < nc; c++) {
            a[c] = DeLong.auc(without(s.ratings()[0][0], s.truth(), c));
            b[c] = DeLong.auc(without(s.ratings()[1][0], s.truth(), c));
        }
        double ma = java.util.Arrays.stream(a).average().orElseThrow();
        double mb = java.util.Arrays.stream(b).average().orElseThrow();
        double cov = 0;
        for (int c = 0; c < nc; c++) {
            cov += (a[c] - ma) * (b[c] - mb);
        }
        cov *= (nc - 1) / (double) nc;
        assertEquals(cov, r.covariance()[0][5], 1e-15);
    }

    private static RocSample without(double[] ratings, boolean[] truth, int drop) {
        double[] x = new double[ratings.length - 1];
        boolean[] y = new boolean[ratings.length - 1];
        for (int i = 0, k = 0; i < ratings.length; i++) {
            if (i != drop) {
                x[k] = ratings[i];
                y[k++] = truth[i];
            }
        }
        return RocSample.of(x, y);
    }
}
