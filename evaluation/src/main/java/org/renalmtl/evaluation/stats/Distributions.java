package org.renalmtl.evaluation.stats;

import org.apache.commons.statistics.distribution.ChiSquaredDistribution;
import org.apache.commons.statistics.distribution.FDistribution;
import org.apache.commons.statistics.distribution.NormalDistribution;
import org.apache.commons.statistics.distribution.TDistribution;

/**
 * The normal, Student t, F and χ² tail probabilities and quantiles this module needs, in the forms R
 * spells them ({@code pnorm}, {@code qnorm}, {@code pt}, {@code qt}, {@code 1 - pf}, {@code 1 - pchisq}),
 * computed by Apache Commons Statistics. The library's functions are accurate to a few ulp (its
 * survival functions are computed directly, not as 1 − CDF), which keeps the p-values and limits
 * within 1e-9 of R's.
 *
 * <p>This class only adds what R's conventions need on top of the library: two-sided p-values,
 * fractional and infinite degrees of freedom, and NaN (rather than an exception) for the undefined
 * degrees of freedom that a degenerate study can produce, so that such a study reports "NA" instead
 * of failing.
 */
public final class Distributions {

    private static final NormalDistribution STANDARD_NORMAL = NormalDistribution.of(0, 1);

    private Distributions() {
    }

    /** Standard normal CDF Φ(x). */
    public static double normalCdf(double x) {
        return STANDARD_NORMAL.cumulativeProbability(x);
    }

    /** Two-sided p-value of a standard normal statistic: 2·Φ(−|z|), as pROC computes it. */
    public static double twoSidedNormalP(double z) {
        return 2.0 * STANDARD_NORMAL.cumulativeProbability(-Math.abs(z));
    }

    /** Standard normal quantile Φ⁻¹(p); −∞ at 0, +∞ at 1, NaN outside [0, 1]. */
    public static double normalQuantile(double p) {
        if (!(p >= 0 && p <= 1)) {
            return Double.NaN;
        }
        return STANDARD_NORMAL.inverseCumulativeProbability(p);
    }

    /** Student t CDF with (possibly fractional) degrees of freedom df &gt; 0; df = ∞ is the normal. */
    public static double studentTCdf(double t, double df) {
        if (Double.isNaN(t) || !(df > 0)) {
            return Double.NaN;
        }
        return Double.isInfinite(df) ? normalCdf(t) : TDistribution.of(df).cumulativeProbability(t);
    }

    /** Two-sided p-value 2·P(T &gt; |t|) of a t statistic, as R's {@code 2 * pt(-abs(t), df)}. */
    public static double twoSidedTP(double t, double df) {
        return 2.0 * studentTCdf(-Math.abs(t), df);
    }

    /** Student t quantile with (possibly fractional) df &gt; 0, p in (0, 1); df = ∞ is the normal. */
    public static double studentTQuantile(double p, double df) {
        if (!(p >= 0 && p <= 1) || !(df > 0)) {
            return Double.NaN;
        }
        return Double.isInfinite(df) ? normalQuantile(p) : TDistribution.of(df).inverseCumulativeProbability(p);
    }

    /** Upper tail P(F &gt; f) with df1, df2 (fractional allowed): R's {@code 1 - pf(f, df1, df2)}. */
    public static double fUpperTail(double f, double df1, double df2) {
        if (Double.isNaN(f) || !(df1 > 0) || !(df2 > 0)) {
            return Double.NaN;
        }
        if (f <= 0) {
            return 1;
        }
        // F(df1, ∞) is χ²(df1)/df1, the limit the library does not take itself.
        return Double.isInfinite(df2) ? chiSquareUpperTail(f * df1, df1) : FDistribution.of(df1, df2).survivalProbability(f);
    }

    /** Upper tail P(X &gt; x) of χ² with k degrees of freedom: R's {@code 1 - pchisq(x, k)}. */
    public static double chiSquareUpperTail(double x, double k) {
        if (Double.isNaN(x) || !(k > 0)) {
            return Double.NaN;
        }
        return x <= 0 ? 1 : ChiSquaredDistribution.of(k).survivalProbability(x);
    }
}
