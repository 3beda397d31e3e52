package org.renalmtl.evaluation.stats;

/**
 * Cumulative distribution functions and quantiles of the normal, Student t and F distributions,
 * accurate to about 1e-14, which is what the p-values and confidence limits of this module need to
 * agree with R ({@code pnorm}, {@code qnorm}, {@code pt}, {@code qt}, {@code pf}) to 1e-9.
 *
 * <p>The normal tail uses the power series of erf near zero and the Lentz continued fraction of
 * erfc further out; t and F go through the regularised incomplete beta function (continued
 * fraction, Numerical Recipes §6.4) with a Lanczos log-gamma. Quantiles start from a rational
 * approximation and are polished by Newton steps on the exact CDF (normal) or by bracketing
 * bisection-secant iteration (t), so their accuracy is that of the CDF.
 */
public final class Distributions {

    private static final double SQRT2 = Math.sqrt(2.0);
    private static final double TWO_OVER_SQRT_PI = 2.0 / Math.sqrt(Math.PI);
    private static final double LOG_SQRT_2PI = 0.5 * Math.log(2.0 * Math.PI);

    private Distributions() {
    }

    /** Standard normal CDF Φ(x). */
    public static double normalCdf(double x) {
        if (Double.isNaN(x)) {
            return Double.NaN;
        }
        // Φ(x) = erfc(-x/√2)/2; use the complementary form on the side where it does not cancel.
        return x < 0 ? 0.5 * erfc(-x / SQRT2) : 1.0 - 0.5 * erfc(x / SQRT2);
    }

    /** Upper tail 1 − Φ(x), accurate in the far tail (no cancellation). */
    public static double normalUpperTail(double x) {
        return normalCdf(-x);
    }

    /** Two-sided p-value of a standard normal statistic: 2·Φ(−|z|), as pROC computes it. */
    public static double twoSidedNormalP(double z) {
        return 2.0 * normalCdf(-Math.abs(z));
    }

    /** Complementary error function. */
    public static double erfc(double x) {
        if (x < 0) {
            return 2.0 - erfc(-x);
        }
        if (x < 2.0) {
            return 1.0 - erfSeries(x);
        }
        return erfcContinuedFraction(x);
    }

    // erf(x) = 2/√π Σ (-1)^k x^(2k+1) / (k! (2k+1)); for x < 2 the terms fall below 1e-17 before
    // cancellation costs more than a couple of bits (largest term about 3.5 at x = 2).
    private static double erfSeries(double x) {
        double x2 = x * x;
        double term = x;
        double sum = x;
        for (int k = 1; k < 200; k++) {
            term *= -x2 / k;
            double add = term / (2 * k + 1);
            sum += add;
            if (Math.abs(add) < 1e-17 * Math.abs(sum)) {
                break;
            }
        }
        return TWO_OVER_SQRT_PI * sum;
    }

    // erfc(x) = exp(-x²)/√π · 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...)))) evaluated by modified Lentz.
    private static double erfcContinuedFraction(double x) {
        final double tiny = 1e-300;
        double f = x;
        double c = x;
        double d = 0;
        for (int k = 1; k < 500; k++) {
            double a = k / 2.0;
            d = x + a * d;
            d = Math.abs(d) < tiny ? tiny : d;
            c = x + a / c;
            c = Math.abs(c) < tiny ? tiny : c;
            d = 1.0 / d;
            double delta = c * d;
            f *= delta;
            if (Math.abs(delta - 1.0) < 1e-16) {
                break;
            }
        }
        return Math.exp(-x * x) / (f * Math.sqrt(Math.PI));
    }

    /** Standard normal quantile Φ⁻¹(p), p in (0, 1). */
    public static double normalQuantile(double p) {
        if (!(p > 0 && p < 1)) {
            if (p == 0) {
                return Double.NEGATIVE_INFINITY;
            }
            if (p == 1) {
                return Double.POSITIVE_INFINITY;
            }
            return Double.NaN;
        }
        double x = acklam(p);
        // Newton steps on the exact CDF; the start is good to ~1e-9, two steps reach machine precision.
        for (int i = 0; i < 4; i++) {
            double err = normalCdf(x) - p;
            double density = Math.exp(-0.5 * x * x - LOG_SQRT_2PI);
            double step = err / density;
            x -= step;
            if (Math.abs(step) < 1e-15 * Math.max(1.0, Math.abs(x))) {
                break;
            }
        }
        return x;
    }

    // P. J. Acklam's rational approximation of the normal quantile (relative error < 1.2e-9).
    private static double acklam(double p) {
        final double[] a = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
            1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00};
        final double[] b = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
            6.680131188771972e+01, -1.328068155288572e+01};
        final double[] c = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
            -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00};
        final double[] d = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
            3.754408661907416e+00};
        final double pLow = 0.02425;
        if (p < pLow) {
            double q = Math.sqrt(-2 * Math.log(p));
            return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
                / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
        }
        if (p > 1 - pLow) {
            double q = Math.sqrt(-2 * Math.log1p(-p));
            return -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
                / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
        }
        double q = p - 0.5;
        double r = q * q;
        return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
            / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
    }

    /** Natural log of the gamma function for x > 0 (Lanczos, g = 7, n = 9; relative error ~1e-15). */
    public static double logGamma(double x) {
        if (x < 0.5) {
            // Reflection keeps the Lanczos sum in its accurate range.
            return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
        }
        final double[] coef = {0.99999999999980993, 676.5203681218851, -1259.1392167224028,
            771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012,
            9.9843695780195716e-6, 1.5056327351493116e-7};
        double z = x - 1;
        double sum = coef[0];
        for (int i = 1; i < coef.length; i++) {
            sum += coef[i] / (z + i);
        }
        double t = z + 7.5;
        return LOG_SQRT_2PI + (z + 0.5) * Math.log(t) - t + Math.log(sum);
    }

    /** Regularised incomplete beta function I_x(a, b). */
    public static double regularizedBeta(double x, double a, double b) {
        if (x <= 0) {
            return 0;
        }
        if (x >= 1) {
            return 1;
        }
        double logFront = logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log1p(-x);
        double front = Math.exp(logFront);
        // The continued fraction converges fast for x < (a+1)/(a+b+2); use symmetry otherwise.
        if (x < (a + 1) / (a + b + 2)) {
            return front * betaContinuedFraction(x, a, b) / a;
        }
        return 1.0 - front * betaContinuedFraction(1 - x, b, a) / b;
    }

    private static double betaContinuedFraction(double x, double a, double b) {
        final double tiny = 1e-300;
        double qab = a + b;
        double qap = a + 1;
        double qam = a - 1;
        double c = 1;
        double d = 1 - qab * x / qap;
        d = Math.abs(d) < tiny ? tiny : d;
        d = 1 / d;
        double h = d;
        for (int m = 1; m < 10_000; m++) {
            int m2 = 2 * m;
            double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
            d = 1 + aa * d;
            d = Math.abs(d) < tiny ? tiny : d;
            c = 1 + aa / c;
            c = Math.abs(c) < tiny ? tiny : c;
            d = 1 / d;
            h *= d * c;
            aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
            d = 1 + aa * d;
            d = Math.abs(d) < tiny ? tiny : d;
            c = 1 + aa / c;
            c = Math.abs(c) < tiny ? tiny : c;
            d = 1 / d;
            double delta = d * c;
            h *= delta;
            if (Math.abs(delta - 1) < 1e-16) {
                break;
            }
        }
        return h;
    }

    /** Student t CDF with (possibly fractional) degrees of freedom df > 0. */
    public static double studentTCdf(double t, double df) {
        if (Double.isInfinite(df)) {
            return normalCdf(t);
        }
        double x = df / (df + t * t);
        double tail = 0.5 * regularizedBeta(x, df / 2, 0.5);
        return t > 0 ? 1 - tail : tail;
    }

    /** Two-sided p-value 2·P(T > |t|) of a t statistic, as R's {@code 2 * pt(-abs(t), df)}. */
    public static double twoSidedTP(double t, double df) {
        double x = df / (df + t * t);
        return regularizedBeta(x, df / 2, 0.5);
    }

    /** Student t quantile with (possibly fractional) df, p in (0, 1). */
    public static double studentTQuantile(double p, double df) {
        if (p == 0.5) {
            return 0;
        }
        if (p < 0.5) {
            return -studentTQuantile(1 - p, df);
        }
        // Bracket: the normal quantile is a lower bound of the t quantile for p > 0.5.
        double lo = normalQuantile(p);
        double hi = Math.max(2 * lo, 1);
        while (studentTCdf(hi, df) < p) {
            hi *= 2;
        }
        for (int i = 0; i < 200; i++) {
            double mid = 0.5 * (lo + hi);
            if (studentTCdf(mid, df) < p) {
                lo = mid;
            } else {
                hi = mid;
            }
            if (hi - lo < 1e-15 * Math.max(1, hi)) {
                break;
            }
        }
        return 0.5 * (lo + hi);
    }

    /** Upper tail P(F > f) of the F distribution with df1, df2 (fractional allowed): R's {@code 1 - pf(f, df1, df2)}. */
    public static double fUpperTail(double f, double df1, double df2) {
        if (f <= 0) {
            return 1;
        }
        double x = df2 / (df2 + df1 * f);
        return regularizedBeta(x, df2 / 2, df1 / 2);
    }

    /** Upper tail P(X &gt; x) of the chi-square distribution with k degrees of freedom: R's {@code 1 - pchisq(x, k)}. */
    public static double chiSquareUpperTail(double x, double k) {
        if (x <= 0) {
            return 1;
        }
        return regularizedGammaQ(k / 2, x / 2);
    }

    /** Regularised upper incomplete gamma Q(a, x) = Γ(a, x)/Γ(a): series below a + 1, continued fraction above. */
    public static double regularizedGammaQ(double a, double x) {
        if (x <= 0) {
            return 1;
        }
        double logFront = -x + a * Math.log(x) - logGamma(a);
        if (x < a + 1) {
            double term = 1 / a;
            double sum = term;
            for (int n = 1; n < 10_000; n++) {
                term *= x / (a + n);
                sum += term;
                if (Math.abs(term) < 1e-17 * Math.abs(sum)) {
                    break;
                }
            }
            return 1 - sum * Math.exp(logFront);
        }
        final double tiny = 1e-300;
        double b = x + 1 - a;
        double c = 1 / tiny;
        double d = 1 / b;
        double h = d;
        for (int i = 1; i < 10_000; i++) {
            double an = -i * (i - a);
            b += 2;
            d = an * d + b;
            d = Math.abs(d) < tiny ? tiny : d;
            c = b + an / c;
            c = Math.abs(c) < tiny ? tiny : c;
            d = 1 / d;
            double delta = d * c;
            h *= delta;
            if (Math.abs(delta - 1) < 1e-16) {
                break;
            }
        }
        return Math.exp(logFront) * h;
    }
}
