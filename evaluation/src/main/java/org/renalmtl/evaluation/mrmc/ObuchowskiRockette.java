package org.renalmtl.evaluation.mrmc;

import java.util.ArrayList;
import java.util.List;

import org.renalmtl.evaluation.roc.DeLong;
import org.renalmtl.evaluation.roc.RocSample;
import org.renalmtl.evaluation.stats.Distributions;

/**
 * Obuchowski–Rockette (1995) multi-reader multi-case analysis of empirical ROC AUCs with Hillis'
 * (2007) denominator degrees of freedom, as the R package MRMCaov computes it for a factorial design
 * ({@code mrmc(empirical_auc(truth, rating), test, reader, case)} and its {@code summary}).
 *
 * <p>With θ_tr the AUC of reader r under test t and the error covariance matrix of the θ estimated over
 * cases (jackknife by default, or DeLong), the averages Var (diagonal), Cov1 (same reader, different
 * test), Cov2 (same test, different reader) and Cov3 (different both) enter:
 * <ul>
 *   <li>random readers and cases: F = MS(T)/(MS(T:R) + R·max(Cov2 − Cov3, 0)), df1 = T − 1,
 *       df2 = Hillis; pairwise differences with SE √(2/R · denominator) and t(df2) limits; per-test
 *       CIs from that test's data only with SE √(MS(R)/R + max(Cov2, 0)) and their own Hillis df;</li>
 *   <li>fixed readers, random cases: X² = (T − 1)·MS(T)/(Var − Cov1 + (R − 1)·max(Cov2 − Cov3, 0)),
 *       chi-square reference; differences with normal limits; per-test SE √((Var + (R − 1)·max(Cov2, 0))/R).</li>
 * </ul>
 * The jackknife drops one case at a time; its leave-one-out AUCs come in closed form from the DeLong
 * placements (θ₋ᵢ = (mθ − V10ᵢ)/(m − 1) for a diseased case, (nθ − V01ⱼ)/(n − 1) for a normal one), so
 * the whole analysis is O(T·R·C log C).
 */
public final class ObuchowskiRockette {

    /** How the case-sampling covariance of the reader AUCs is estimated. */
    public enum CovarianceMethod {
        /** Jackknife over cases, MRMCaov's default. */
        JACKKNIFE,
        /** DeLong's structural-components covariance. */
        DELONG
    }

    /**
     * The averaged OR covariance terms.
     *
     * @param var  mean error variance (diagonal)
     * @param cov1 mean covariance, same reader, different tests
     * @param cov2 mean covariance, different readers, same test
     * @param cov3 mean covariance, different readers and tests
     */
    public record Covariances(double var, double cov1, double cov2, double cov3) {
    }

    /**
     * Global test of equal test means with random readers.
     *
     * @param msT         mean square of tests
     * @param msTR        mean square of the test × reader interaction
     * @param denominator MS(T:R) + R·max(Cov2 − Cov3, 0)
     * @param f           F statistic
     * @param df1         numerator degrees of freedom T − 1
     * @param df2         Hillis denominator degrees of freedom
     * @param p           p-value
     */
    public record GlobalTest(double msT, double msTR, double denominator, double f, double df1, double df2,
                             double p) {
    }

    /**
     * A pairwise difference of test means.
     *
     * @param test1    first test
     * @param test2    second test
     * @param estimate mean AUC of test1 minus that of test2
     * @param se       standard error
     * @param df       degrees of freedom (infinite for the normal reference)
     * @param low      lower confidence limit
     * @param high     upper confidence limit
     * @param statistic t (or z) statistic
     * @param p        two-sided p-value
     */
    public record Difference(String test1, String test2, double estimate, double se, double df, double low,
                             double high, double statistic, double p) {
    }

    /**
     * Mean AUC of one test with its CI from that test's data only.
     *
     * @param test     test label
     * @param estimate mean AUC over readers
     * @param msR      reader mean square within the test (random readers) or mean error variance (fixed)
     * @param cov2     mean covariance between different readers within the test
     * @param se       standard error
     * @param df       degrees of freedom (infinite for fixed readers)
     * @param low      lower confidence limit, truncated at 0
     * @param high     upper confidence limit, truncated at 1
     */
    public record TestMean(String test, double estimate, double msR, double cov2, double se, double df,
                           double low, double high) {
    }

    /**
     * Fixed-reader (random cases) analysis.
     *
     * @param chiSquare   X² statistic
     * @param df          its degrees of freedom T − 1
     * @param denominator Var − Cov1 + (R − 1)·max(Cov2 − Cov3, 0)
     * @param p           p-value
     * @param differences pairwise differences with normal limits
     * @param testMeans   per-test means with normal limits
     */
    public record FixedReaders(double chiSquare, double df, double denominator, double p,
                               List<Difference> differences, List<TestMean> testMeans) {
    }

    /**
     * The full result.
     *
     * @param study          the analysed study
     * @param method         covariance method
     * @param level          confidence level
     * @param auc            (T, R) empirical AUC of each reader under each test
     * @param covariance     (T·R, T·R) covariance of the AUCs, group index t·R + r
     * @param covariances    averaged Var, Cov1..3
     * @param msR            reader mean square
     * @param readerVariance OR reader variance component
     * @param testReaderVariance OR test × reader variance component
     * @param global         global F test (null when T = 1)
     * @param differences    pairwise differences (random readers)
     * @param testMeans      per-test means and CIs (random readers)
     * @param fixedReaders   fixed-reader analysis
     */
    public record Result(ReaderStudy study, CovarianceMethod method, double level, double[][] auc,
                         double[][] covariance, Covariances covariances, double msR, double readerVariance,
                         double testReaderVariance, GlobalTest global, List<Difference> differences,
                         List<TestMean> testMeans, FixedReaders fixedReaders) {
    }

    private ObuchowskiRockette() {
    }

    /** Runs the analysis. */
    public static Result analyze(ReaderStudy s, CovarianceMethod method, double level) {
        int nt = s.testCount();
        int nr = s.readerCount();
        int groups = nt * nr;
        DeLong.Placements[] placements = new DeLong.Placements[groups];
        double[][] auc = new double[nt][nr];
        for (int t = 0; t < nt; t++) {
            for (int r = 0; r < nr; r++) {
                placements[t * nr + r] = DeLong.placements(RocSample.of(s.ratings()[t][r], s.truth()));
                auc[t][r] = placements[t * nr + r].auc();
            }
        }
        double[][] cov = switch (method) {
            case JACKKNIFE -> jackknifeCovariance(placements, s.truth());
            case DELONG -> delongCovariance(placements);
        };
        Covariances c = average(cov, nt, nr, null);

        double grand = 0;
        double[] testMean = new double[nt];
        double[] readerMean = new double[nr];
        for (int t = 0; t < nt; t++) {
            for (int r = 0; r < nr; r++) {
                testMean[t] += auc[t][r] / nr;
                readerMean[r] += auc[t][r] / nt;
                grand += auc[t][r] / (nt * nr);
            }
        }
        double msT = 0;
        for (int t = 0; t < nt; t++) {
            msT += (testMean[t] - grand) * (testMean[t] - grand);
        }
        msT = nt > 1 ? nr * msT / (nt - 1) : Double.NaN;
        double msR = 0;
        for (int r = 0; r < nr; r++) {
            msR += (readerMean[r] - grand) * (readerMean[r] - grand);
        }
        msR = nt * msR / (nr - 1);
        double msTR = 0;
        for (int t = 0; t < nt; t++) {
            for (int r = 0; r < nr; r++) {
                double e = auc[t][r] - testMean[t] - readerMean[r] + grand;
                msTR += e * e;
            }
        }
        msTR = nt > 1 ? msTR / ((nt - 1) * (nr - 1)) : Double.NaN;

        double readerVar;
        double testReaderVar;
        GlobalTest global = null;
        List<Difference> diffs = new ArrayList<>();
        if (nt > 1) {
            readerVar = (msR - msTR) / nt - c.cov1() + c.cov3();
            testReaderVar = msTR - c.var() + c.cov1() + (c.cov2() - c.cov3());
            double den = msTR + nr * Math.max(c.cov2() - c.cov3(), 0);
            double f = msT / den;
            double df1 = nt - 1;
            double df2 = den * den / (msTR * msTR / ((nt - 1) * (nr - 1)));
            global = new GlobalTest(msT, msTR, den, f, df1, df2, Distributions.fUpperTail(f, df1, df2));
            double se = Math.sqrt(2.0 / nr * den);
            double crit = Distributions.studentTQuantile((1 + level) / 2, df2);
            for (int a = 0; a < nt; a++) {
                for (int b = a + 1; b < nt; b++) {
                    double est = testMean[a] - testMean[b];
                    double stat = est / se;
                    diffs.add(new Difference(s.tests().get(a), s.tests().get(b), est, se, df2, est - crit * se,
                        est + crit * se, stat, Distributions.twoSidedTP(stat, df2)));
                }
            }
        } else {
            // One test: the reader variance component is MS(R) − Var + Cov2 (MRMCaov's single-test form).
            readerVar = msR - c.var() + c.cov2();
            testReaderVar = Double.NaN;
        }

        List<TestMean> means = new ArrayList<>();
        for (int t = 0; t < nt; t++) {
            double msRt = 0;
            for (int r = 0; r < nr; r++) {
                msRt += (auc[t][r] - testMean[t]) * (auc[t][r] - testMean[t]);
            }
            msRt /= nr - 1;
            double cov2t = average(cov, nt, nr, t).cov2();
            double pos = Math.max(cov2t, 0);
            double se = Math.sqrt(msRt / nr + pos);
            double df = (msRt + nr * pos) * (msRt + nr * pos) / (msRt * msRt / (nr - 1));
            double crit = Distributions.studentTQuantile((1 + level) / 2, df);
            means.add(new TestMean(s.tests().get(t), testMean[t], msRt, cov2t, se, df,
                Math.max(0, testMean[t] - crit * se), Math.min(1, testMean[t] + crit * se)));
        }

        FixedReaders fixed = fixedReaders(s, testMean, msT, c, cov, level);
        return new Result(s, method, level, auc, cov, c, msR, readerVar, testReaderVar, global, diffs, means, fixed);
    }

    private static FixedReaders fixedReaders(ReaderStudy s, double[] testMean, double msT, Covariances c,
                                             double[][] cov, double level) {
        int nt = s.testCount();
        int nr = s.readerCount();
        double z = Distributions.normalQuantile((1 + level) / 2);
        double den = c.var() - c.cov1() + (nr - 1) * Math.max(c.cov2() - c.cov3(), 0);
        double x2 = Double.NaN;
        double p = Double.NaN;
        List<Difference> diffs = new ArrayList<>();
        if (nt > 1) {
            x2 = (nt - 1) * msT / den;
            p = Distributions.chiSquareUpperTail(x2, nt - 1);
            double se = Math.sqrt(2.0 / nr * den);
            for (int a = 0; a < nt; a++) {
                for (int b = a + 1; b < nt; b++) {
                    double est = testMean[a] - testMean[b];
                    double stat = est / se;
                    diffs.add(new Difference(s.tests().get(a), s.tests().get(b), est, se, Double.POSITIVE_INFINITY,
                        est - z * se, est + z * se, stat, Distributions.twoSidedNormalP(stat)));
                }
            }
        }
        List<TestMean> means = new ArrayList<>();
        for (int t = 0; t < nt; t++) {
            Covariances ct = average(cov, nt, nr, t);
            double se = Math.sqrt((ct.var() + (nr - 1) * Math.max(ct.cov2(), 0)) / nr);
            means.add(new TestMean(s.tests().get(t), testMean[t], ct.var(), ct.cov2(), se,
                Double.POSITIVE_INFINITY, Math.max(0, testMean[t] - z * se), Math.min(1, testMean[t] + z * se)));
        }
        return new FixedReaders(x2, nt - 1, den, p, diffs, means);
    }

    /**
     * Averages the covariance matrix into Var, Cov1, Cov2, Cov3 over all groups, or only over the
     * groups of one test when {@code onlyTest} is given (then Cov1 and Cov3 are NaN).
     */
    static Covariances average(double[][] cov, int nt, int nr, Integer onlyTest) {
        double var = 0;
        double c1 = 0;
        double c2 = 0;
        double c3 = 0;
        int nVar = 0;
        int n1 = 0;
        int n2 = 0;
        int n3 = 0;
        for (int g = 0; g < nt * nr; g++) {
            for (int h = 0; h < nt * nr; h++) {
                int tg = g / nr;
                int th = h / nr;
                if (onlyTest != null && (tg != onlyTest || th != onlyTest)) {
                    continue;
                }
                boolean sameTest = tg == th;
                boolean sameReader = g % nr == h % nr;
                double v = cov[g][h];
                if (sameTest && sameReader) {
                    var += v;
                    nVar++;
                } else if (sameReader) {
                    c1 += v;
                    n1++;
                } else if (sameTest) {
                    c2 += v;
                    n2++;
                } else {
                    c3 += v;
                    n3++;
                }
            }
        }
        // With one reader there are no between-reader pairs: MRMCaov sets Cov2 = Cov3 = 0.
        return new Covariances(var / nVar, n1 == 0 ? Double.NaN : c1 / n1, n2 == 0 ? 0 : c2 / n2,
            n3 == 0 ? (n1 == 0 ? Double.NaN : 0) : c3 / n3);
    }

    /** Jackknife covariance ((C − 1)/C) Σ_c (θ₋c − θ̄₋)(θ₋c − θ̄₋)ᵀ over leave-one-case-out AUCs. */
    static double[][] jackknifeCovariance(DeLong.Placements[] placements, boolean[] truth) {
        int groups = placements.length;
        int cases = truth.length;
        double[][] loo = new double[groups][cases]; // (G, C) AUC without case c
        for (int g = 0; g < groups; g++) {
            DeLong.Placements p = placements[g];
            int m = p.v10().length;
            int n = p.v01().length;
            int i = 0;
            int j = 0;
            for (int c = 0; c < cases; c++) {
                loo[g][c] = truth[c] ? (m * p.auc() - p.v10()[i++]) / (m - 1)
                    : (n * p.auc() - p.v01()[j++]) / (n - 1);
            }
        }
        double[] mean = new double[groups];
        for (int g = 0; g < groups; g++) {
            for (int c = 0; c < cases; c++) {
                mean[g] += loo[g][c];
            }
            mean[g] /= cases;
        }
        double[][] cov = new double[groups][groups];
        for (int g = 0; g < groups; g++) {
            for (int h = g; h < groups; h++) {
                double sum = 0;
                for (int c = 0; c < cases; c++) {
                    sum += (loo[g][c] - mean[g]) * (loo[h][c] - mean[h]);
                }
                cov[g][h] = cov[h][g] = (cases - 1) / (double) cases * sum;
            }
        }
        return cov;
    }

    /** DeLong covariance S10/m + S01/n between every pair of reader-test AUCs. */
    static double[][] delongCovariance(DeLong.Placements[] placements) {
        int groups = placements.length;
        double[][] cov = new double[groups][groups];
        for (int g = 0; g < groups; g++) {
            for (int h = g; h < groups; h++) {
                cov[g][h] = cov[h][g] = DeLong.covariance(placements[g], placements[h]);
            }
        }
        return cov;
    }
}
