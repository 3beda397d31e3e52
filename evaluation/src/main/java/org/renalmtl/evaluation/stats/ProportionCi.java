package org.renalmtl.evaluation.stats;

import org.apache.commons.statistics.distribution.BetaDistribution;
import org.apache.commons.statistics.distribution.NormalDistribution;

/**
 * Confidence intervals for a binomial proportion x / n, as papers report sensitivity, specificity,
 * PPV, NPV and accuracy.
 * <ul>
 * <li>Clopper–Pearson ("exact"): the limits are Beta quantiles, lower = B(α/2; x, n − x + 1) (0 when
 * x = 0), upper = B(1 − α/2; x + 1, n − x) (1 when x = n); R's {@code binom.test} and
 * {@code Hmisc::binconf(method = "exact")}.</li>
 * <li>Wilson score interval without continuity correction: R's {@code prop.test(correct = FALSE)} and
 * {@code Hmisc::binconf(method = "wilson")}.</li>
 * </ul>
 */
public final class ProportionCi {

    /** Interval method. */
    public enum Method {
        /** Exact (Clopper–Pearson) interval. */
        CLOPPER_PEARSON("Clopper–Pearson (exact)"),
        /** Wilson score interval. */
        WILSON("Wilson score");

        private final String label;

        Method(String label) {
            this.label = label;
        }

        /** The method's name as a report states it. */
        public String label() {
            return label;
        }
    }

    /**
     * A proportion with its interval; all NaN when n = 0.
     *
     * @param x        successes
     * @param n        trials
     * @param estimate x / n
     * @param low      lower limit
     * @param high     upper limit
     */
    public record Interval(int x, int n, double estimate, double low, double high) {
    }

    private ProportionCi() {
    }

    /**
     * Interval for x successes out of n at confidence {@code level}.
     *
     * @throws IllegalArgumentException when x is outside [0, n]
     */
    public static Interval of(int x, int n, double level, Method method) {
        if (x < 0 || x > n) {
            throw new IllegalArgumentException("need 0 <= x <= n, got x=" + x + ", n=" + n);
        }
        if (n == 0) {
            return new Interval(0, 0, Double.NaN, Double.NaN, Double.NaN);
        }
        double alpha = 1 - level;
        double p = x / (double) n;
        return switch (method) {
            case CLOPPER_PEARSON -> new Interval(x, n, p,
                x == 0 ? 0 : BetaDistribution.of(x, n - x + 1.0).inverseCumulativeProbability(alpha / 2),
                x == n ? 1 : BetaDistribution.of(x + 1.0, n - x).inverseSurvivalProbability(alpha / 2));
            case WILSON -> {
                double z = NormalDistribution.of(0, 1).inverseSurvivalProbability(alpha / 2);
                double z2 = z * z;
                double centre = (p + z2 / (2 * n)) / (1 + z2 / n);
                double half = z / (1 + z2 / n) * Math.sqrt(p * (1 - p) / n + z2 / (4.0 * n * n));
                yield new Interval(x, n, p, Math.max(0, centre - half), Math.min(1, centre + half));
            }
        };
    }
}
