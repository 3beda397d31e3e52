package org.renalmtl.evaluation.roc;

import java.util.Arrays;

import org.renalmtl.evaluation.stats.Distributions;

/**
 * Empirical AUC and its DeLong (1988) variance, computed with the midrank algorithm of Sun &amp; Xu
 * (IEEE Signal Processing Letters 21, 2014) in O(N log N), plus the paired and unpaired DeLong
 * tests, with the conventions of pROC:
 * <ul>
 *   <li>AUC = P(case score &gt; control score) + ½ P(tie) (Mann–Whitney, ties count half);</li>
 *   <li>variance S10/m + S01/n with sample variances (denominators m−1, n−1) of the placements;</li>
 *   <li>CI = AUC ± z·SE, clipped to [0, 1] ({@code ci_auc_delong});</li>
 *   <li>paired test Z = (θ1 − θ2)/√(Lᵀ S L), two-sided p = 2Φ(−|Z|), CI of the difference
 *       d ± z·σ ({@code delong.paired.calculations});</li>
 *   <li>unpaired test D with pROC's Welch-type degrees of freedom and a t reference
 *       ({@code delong.unpaired.test}).</li>
 * </ul>
 */
public final class DeLong {

    private DeLong() {
    }

    /**
     * DeLong placement values of one ROC sample.
     *
     * @param auc empirical AUC θ (the mean of either placement vector)
     * @param v10 (m) per case: fraction of controls scored below it, ties counting half
     * @param v01 (n) per control: fraction of cases scored above it, ties counting half
     */
    public record Placements(double auc, double[] v10, double[] v01) {

        /** Sample variance of the case placements, S10 (denominator m − 1). */
        public double s10() {
            return covariance(v10, auc, v10, auc);
        }

        /** Sample variance of the control placements, S01 (denominator n − 1). */
        public double s01() {
            return covariance(v01, auc, v01, auc);
        }

        /** DeLong variance of the AUC, S10/m + S01/n; NaN when a class has a single member. */
        public double variance() {
            return s10() / v10.length + s01() / v01.length;
        }
    }

    /**
     * An AUC with its DeLong standard error and two-sided confidence interval.
     *
     * @param auc      empirical AUC
     * @param variance DeLong variance
     * @param low      lower confidence limit (clipped at 0)
     * @param high     upper confidence limit (clipped at 1)
     * @param level    confidence level, e.g. 0.95
     */
    public record AucEstimate(double auc, double variance, double low, double high, double level) {

        /** Standard error √variance. */
        public double se() {
            return Math.sqrt(variance);
        }
    }

    /**
     * Paired DeLong test of two scores on the same cases.
     *
     * @param auc1       AUC of the first score
     * @param auc2       AUC of the second score
     * @param difference auc1 − auc2
     * @param se         standard error of the difference
     * @param covariance DeLong covariance of the two AUCs
     * @param z          Z statistic (0 when difference and se are both 0, as pROC)
     * @param p          two-sided p-value 2Φ(−|Z|)
     * @param low        lower limit of the CI of the difference
     * @param high       upper limit of the CI of the difference
     * @param level      confidence level
     */
    public record PairedTest(double auc1, double auc2, double difference, double se, double covariance,
                             double z, double p, double low, double high, double level) {
    }

    /**
     * Unpaired DeLong test of two AUCs from different cohorts.
     *
     * @param auc1 AUC of the first cohort
     * @param auc2 AUC of the second cohort
     * @param d    statistic (auc1 − auc2)/√(V1 + V2)
     * @param df   degrees of freedom of the t reference (pROC's formula)
     * @param p    two-sided p-value 2·P(T_df &gt; |D|)
     */
    public record UnpairedTest(double auc1, double auc2, double d, double df, double p) {
    }

    /**
     * Midranks of {@code values} within {@code sortedPool} (a sorted array): for each value, the
     * average 1-based rank its tie group occupies in the pool, i.e. (#below + (#below + #equal + 1))/2.
     * With pool = the values themselves this is the ordinary midrank transform; O(N log N).
     */
    static double[] midranks(double[] values, double[] sortedPool) {
        double[] out = new double[values.length];
        for (int i = 0; i < values.length; i++) {
            int below = lowerBound(sortedPool, values[i]);
            int upTo = upperBound(sortedPool, values[i]);
            out[i] = (below + upTo + 1) / 2.0;
        }
        return out;
    }

    private static int lowerBound(double[] sorted, double v) {
        int lo = 0;
        int hi = sorted.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (sorted[mid] < v) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    private static int upperBound(double[] sorted, double v) {
        int lo = 0;
        int hi = sorted.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (sorted[mid] <= v) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    /**
     * Sun &amp; Xu's fast placements: with Tz the midranks in the pooled sample, Tx within the cases and
     * Ty within the controls, V10_i = (Tz_i − Tx_i)/n and V01_j = 1 − (Tz_j − Ty_j)/m.
     */
    public static Placements placements(RocSample s) {
        double[] x = s.cases();
        double[] y = s.controls();
        int m = x.length;
        int n = y.length;
        double[] sx = x.clone();
        double[] sy = y.clone();
        Arrays.sort(sx);
        Arrays.sort(sy);
        double[] pooled = new double[m + n];
        System.arraycopy(sx, 0, pooled, 0, m);
        System.arraycopy(sy, 0, pooled, m, n);
        Arrays.sort(pooled);
        double[] tzx = midranks(x, pooled);
        double[] tzy = midranks(y, pooled);
        double[] tx = midranks(x, sx);
        double[] ty = midranks(y, sy);
        double[] v10 = new double[m];
        double[] v01 = new double[n];
        double sumTzx = 0;
        for (int i = 0; i < m; i++) {
            v10[i] = (tzx[i] - tx[i]) / n;
            sumTzx += tzx[i];
        }
        for (int j = 0; j < n; j++) {
            v01[j] = 1.0 - (tzy[j] - ty[j]) / m;
        }
        // AUC from the rank sum of the cases (Mann–Whitney U / mn), exact in the midranks. m(m + 1)
        // in double: as an int product it overflows from 46 341 cases on.
        double auc = (sumTzx - m * (m + 1.0) / 2.0) / ((double) m * n);
        return new Placements(auc, v10, v01);
    }

    /** Empirical AUC (Mann–Whitney, ties count half). */
    public static double auc(RocSample s) {
        return placements(s).auc();
    }

    /** DeLong variance of the empirical AUC. */
    public static double variance(RocSample s) {
        return placements(s).variance();
    }

    /** AUC with DeLong CI at the given level (pROC {@code ci.auc(method = "delong")}). */
    public static AucEstimate estimate(RocSample s, double level) {
        Placements p = placements(s);
        double var = p.variance();
        double z = Distributions.normalQuantile(1 - (1 - level) / 2);
        double se = Math.sqrt(var);
        double low = Math.max(0, p.auc() - z * se);
        double high = Math.min(1, p.auc() + z * se);
        return new AucEstimate(p.auc(), var, low, high, level);
    }

    /**
     * DeLong covariance of the AUCs of two scores on the same cases, in the same order
     * (S10_12/m + S01_12/n).
     */
    public static double covariance(RocSample a, RocSample b) {
        requirePaired(a, b);
        return covariance(placements(a), placements(b));
    }

    /** DeLong covariance from placements of two paired samples. */
    public static double covariance(Placements pa, Placements pb) {
        int m = pa.v10().length;
        int n = pa.v01().length;
        return covariance(pa.v10(), pa.auc(), pb.v10(), pb.auc()) / m
            + covariance(pa.v01(), pa.auc(), pb.v01(), pb.auc()) / n;
    }

    // Σ (a_i − ma)(b_i − mb)/(k − 1), centred on the AUCs as pROC and MRMCaov do.
    private static double covariance(double[] a, double ma, double[] b, double mb) {
        double sum = 0;
        for (int i = 0; i < a.length; i++) {
            sum += (a[i] - ma) * (b[i] - mb);
        }
        return sum / (a.length - 1);
    }

    /** Paired DeLong test (pROC {@code roc.test(paired = TRUE, method = "delong")}). */
    public static PairedTest pairedTest(RocSample a, RocSample b, double level) {
        requirePaired(a, b);
        Placements pa = placements(a);
        Placements pb = placements(b);
        double va = pa.variance();
        double vb = pb.variance();
        double cov = covariance(pa, pb);
        double d = pa.auc() - pb.auc();
        double se = Math.sqrt(Math.max(0, va + vb - 2 * cov));
        double z = d / se;
        if (Double.isNaN(z) && d == 0 && se == 0) {
            z = 0; // identical curves: pROC reports Z = 0, p = 1
        }
        double p = Distributions.twoSidedNormalP(z);
        double crit = Distributions.normalQuantile(1 - (1 - level) / 2);
        return new PairedTest(pa.auc(), pb.auc(), d, se, cov, z, p, d - crit * se, d + crit * se, level);
    }

    /** Unpaired DeLong test of two cohorts (pROC {@code roc.test(paired = FALSE, method = "delong")}). */
    public static UnpairedTest unpairedTest(RocSample a, RocSample b) {
        Placements pa = placements(a);
        Placements pb = placements(b);
        double sa = pa.variance();
        double sb = pb.variance();
        double d = (pa.auc() - pb.auc()) / Math.sqrt(sa + sb);
        int na = a.m() + a.n();
        int nb = b.m() + b.n();
        // pROC's degrees of freedom use the total cohort sizes minus one.
        double df = (sa + sb) * (sa + sb) / (sa * sa / (na - 1) + sb * sb / (nb - 1));
        double p = Distributions.twoSidedTP(d, df);
        return new UnpairedTest(pa.auc(), pb.auc(), d, df, p);
    }

    private static void requirePaired(RocSample a, RocSample b) {
        if (a.m() != b.m() || a.n() != b.n()) {
            throw new IllegalArgumentException("paired DeLong needs the same cases: " + a.m() + "/" + a.n()
                + " vs " + b.m() + "/" + b.n());
        }
    }
}
