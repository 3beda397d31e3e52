package org.renalmtl.evaluation.calibration;

/**
 * Maximum-likelihood logistic regression with an intercept, at most one covariate and an optional
 * offset, fitted by iteratively reweighted least squares (Newton–Raphson), as R's
 * {@code glm(y ~ x + offset(o), family = binomial)} does. Enough for calibration intercept/slope and
 * for dcurves' conversion of a marker to a risk ({@code as_probability}).
 */
public final class LogisticRegression {

    /**
     * Fitted coefficients.
     *
     * @param intercept  intercept β0
     * @param slope      coefficient of the covariate (0 when fitted without one)
     * @param iterations Newton iterations used
     */
    public record Fit(double intercept, double slope, int iterations) {

        /** Predicted probability at covariate x and offset o. */
        public double predict(double x, double offset) {
            return 1 / (1 + Math.exp(-(intercept + slope * x + offset)));
        }
    }

    private LogisticRegression() {
    }

    /**
     * Fits logit P(y) = β0 + β1·x + offset.
     *
     * @param y      (N) outcomes
     * @param x      (N) covariate, or null to fit the intercept only
     * @param offset (N) offset, or null for none
     * @throws IllegalStateException when the fit does not converge (e.g. perfect separation)
     */
    public static Fit fit(boolean[] y, double[] x, double[] offset) {
        int n = y.length;
        double b0 = 0;
        double b1 = 0;
        double deviance = deviance(y, x, offset, b0, b1);
        for (int iter = 1; iter <= 100; iter++) {
            // Gradient g and Hessian H of the log-likelihood in (b0, b1).
            double g0 = 0;
            double g1 = 0;
            double h00 = 0;
            double h01 = 0;
            double h11 = 0;
            for (int i = 0; i < n; i++) {
                double xi = x == null ? 0 : x[i];
                double p = 1 / (1 + Math.exp(-(b0 + b1 * xi + (offset == null ? 0 : offset[i]))));
                double w = p * (1 - p);
                double r = (y[i] ? 1 : 0) - p;
                g0 += r;
                g1 += r * xi;
                h00 += w;
                h01 += w * xi;
                h11 += w * xi * xi;
            }
            double d0;
            double d1;
            if (x == null) {
                d0 = g0 / h00;
                d1 = 0;
            } else {
                double det = h00 * h11 - h01 * h01;
                d0 = (h11 * g0 - h01 * g1) / det;
                d1 = (h00 * g1 - h01 * g0) / det;
            }
            // A full Newton step from far away (risks near 0 or 1 give large offsets and a flat start) can overshoot
            // and diverge; halve it until the deviance does not grow, as R's glm.fit does ("step size truncated").
            double t = 1;
            double next = deviance(y, x, offset, b0 + d0, b1 + d1);
            while (!(next <= deviance + 1e-12 * Math.abs(deviance)) && t > 0x1p-60) {
                t /= 2;
                next = deviance(y, x, offset, b0 + t * d0, b1 + t * d1);
            }
            if (!(next <= deviance + 1e-12 * Math.abs(deviance))) {
                break;
            }
            b0 += t * d0;
            b1 += t * d1;
            // R's glm stops on |dev − dev_old|/(|dev| + 0.1) < 1e-8; we iterate to the step size so that
            // the coefficients are converged to ~1e-12, well inside the 1e-9 the tests need.
            if (t * (Math.abs(d0) + Math.abs(d1)) < 1e-13 * (1 + Math.abs(b0) + Math.abs(b1))
                && Math.abs(deviance - next) < 1e-9 * (Math.abs(next) + 0.1)) {
                return new Fit(b0, b1, iter);
            }
            deviance = next;
        }
        throw new IllegalStateException("logistic regression did not converge (separated or degenerate data)");
    }

    /** −2 log-likelihood at (b0, b1); NaN-free for any finite linear predictor. */
    private static double deviance(boolean[] y, double[] x, double[] offset, double b0, double b1) {
        double deviance = 0;
        for (int i = 0; i < y.length; i++) {
            double eta = b0 + b1 * (x == null ? 0 : x[i]) + (offset == null ? 0 : offset[i]);
            // log(1 + e^eta) = max(eta, 0) + log1p(e^{-|eta|}) keeps the deviance finite for extreme eta.
            deviance -= 2 * ((y[i] ? eta : 0) - (Math.max(eta, 0) + Math.log1p(Math.exp(-Math.abs(eta)))));
        }
        return deviance;
    }
}
