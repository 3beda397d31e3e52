package org.renalmtl.evaluation.calibration;

import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * Cleveland's lowess smoother, transcribed from R's {@code clowess} (src/library/stats/src/lowess.c)
 * without its robustness iterations: {@code lowess(x, y, f, iter = 0, delta)}, which is how
 * {@code rms::val.prob} smooths a binary outcome against predicted risk (robustness weights would
 * treat the 0/1 outcomes as outliers). Local linear fits with tricube weights over the ⌊f·n⌋ nearest
 * points; ties in x share one fit; points within {@code delta} of the last fitted x are linearly
 * interpolated. commons-math3's LoessInterpolator is not used because it refuses tied x values,
 * which predicted risks nearly always have.
 */
public final class Lowess {

    private Lowess() {
    }

    /**
     * Smooths y against x.
     *
     * @param x     (N) abscissae, any order
     * @param y     (N) ordinates
     * @param f     span, the fraction of points in each local fit (R's default 2/3)
     * @param delta points closer than this to the last fitted x are interpolated (R's default 0.01 · range)
     * @return (2, N): sorted x and the fitted values, as R's {@code lowess()} returns them
     */
    public static double[][] smooth(double[] x, double[] y, double f, double delta) {
        int n = x.length;
        // R orders by x with a stable sort; ties keep the input order.
        Integer[] order = IntStream.range(0, n).boxed().toArray(Integer[]::new);
        Arrays.sort(order, Comparator.comparingDouble(i -> x[i]));
        double[] xs = new double[n];
        double[] ys = new double[n];
        for (int i = 0; i < n; i++) {
            xs[i] = x[order[i]];
            ys[i] = y[order[i]];
        }
        double[] fit = new double[n];
        if (n < 2) {
            System.arraycopy(ys, 0, fit, 0, n);
            return new double[][]{xs, fit};
        }
        int ns = Math.max(2, Math.min(n, (int) (f * n + 1e-7)));
        double[] w = new double[n];
        // 0-based transcription of clowess's loop (1-based in C).
        int nleft = 0;
        int nright = ns - 1;
        int last = -1;
        int i = 0;
        while (true) {
            if (nright < n - 1) {
                double d1 = xs[i] - xs[nleft];
                double d2 = xs[nright + 1] - xs[i];
                if (d1 > d2) {
                    nleft++;
                    nright++;
                    continue;
                }
            }
            double v = lowest(xs, ys, xs[i], nleft, nright, w);
            fit[i] = Double.isNaN(v) ? ys[i] : v;
            if (last < i - 1) {
                double denom = xs[i] - xs[last];
                for (int j = last + 1; j < i; j++) {
                    double alpha = (xs[j] - xs[last]) / denom;
                    fit[j] = alpha * fit[i] + (1 - alpha) * fit[last];
                }
            }
            last = i;
            double cut = xs[last] + delta;
            for (i = last + 1; i < n; i++) {
                if (xs[i] > cut) {
                    break;
                }
                if (xs[i] == xs[last]) {
                    fit[i] = fit[last];
                    last = i;
                }
            }
            i = Math.max(last + 1, i - 1);
            if (last >= n - 1) {
                break;
            }
        }
        return new double[][]{xs, fit};
    }

    // Fitted value at xq from points nleft..nright (and ties to the right); NaN when all weights are 0.
    private static double lowest(double[] x, double[] y, double xq, int nleft, int nright, double[] w) {
        int n = x.length;
        double range = x[n - 1] - x[0];
        double h = Math.max(xq - x[nleft], x[nright] - xq);
        double h9 = 0.999 * h;
        double h1 = 0.001 * h;
        double a = 0;
        int j = nleft;
        while (j < n) {
            w[j] = 0;
            double r = Math.abs(x[j] - xq);
            if (r <= h9) {
                if (r <= h1) {
                    w[j] = 1;
                } else {
                    double q = r / h;
                    double t = 1 - q * q * q;
                    w[j] = t * t * t;
                }
                a += w[j];
            } else if (x[j] > xq) {
                break;
            }
            j++;
        }
        int nrt = j - 1;
        if (a <= 0) {
            return Double.NaN;
        }
        for (j = nleft; j <= nrt; j++) {
            w[j] /= a;
        }
        if (h > 0) {
            a = 0;
            for (j = nleft; j <= nrt; j++) {
                a += w[j] * x[j];
            }
            double b = xq - a;
            double c = 0;
            for (j = nleft; j <= nrt; j++) {
                c += w[j] * (x[j] - a) * (x[j] - a);
            }
            if (Math.sqrt(c) > 0.001 * range) {
                b /= c;
                for (j = nleft; j <= nrt; j++) {
                    w[j] *= b * (x[j] - a) + 1;
                }
            }
        }
        double ysum = 0;
        for (j = nleft; j <= nrt; j++) {
            ysum += w[j] * y[j];
        }
        return ysum;
    }
}
