package org.renalmtl.segmentation;

/**
 * One line of {@code scipy.ndimage.zoom(..., grid_mode=True, mode='nearest')} (what scikit-image's
 * {@code resize(mode='edge', anti_aliasing=False)} calls), in float64: output sample {@code k} of {@code m}
 * reads the input at {@code (k + 0.5)·(n/m) - 0.5}. Order 0 takes the nearest sample (floor(c + 0.5)), order 1
 * interpolates linearly, order 3 evaluates the cubic B-spline after scipy's prefilter: the line is first padded
 * by 12 copies of its edge samples, then filtered (gain 6, pole √3 − 2, mirror-symmetric initialisation), so
 * the boundary condition of the filter has decayed by 0.27¹² ≈ 1e-7 before it reaches real samples. Indices
 * outside the (padded) line read its nearest end. The 3-D resize is the tensor product of such lines.
 *
 * <p>An instance holds the work buffers for lines up to a given length; it is not thread-safe (one per
 * thread).
 */
final class LineZoom {

    /** scipy's prepadding for spline orders above 1 in 'nearest' mode. */
    static final int PAD = 12;
    private static final double POLE = Math.sqrt(3.0) - 2.0;
    private static final double GAIN = (1.0 - POLE) * (1.0 - 1.0 / POLE); // = 6

    private final double[] coeff; // (maxIn + 2·PAD) spline coefficients of the padded line

    /** @param maxIn longest input line this instance will be given */
    LineZoom(int maxIn) {
        this.coeff = new double[maxIn + 2 * PAD];
    }

    /**
     * Zooms {@code in[0..n)} to {@code out[0..m)}.
     *
     * @param in    (n) input samples
     * @param n     input length
     * @param out   (m) receives the output samples
     * @param m     output length
     * @param order 0, 1 or 3
     */
    void zoom(double[] in, int n, double[] out, int m, int order) {
        double scale = (double) n / m; // scipy: zoom = in_shape / out_shape in float64
        if (order == 3) {
            int len = n + 2 * PAD;
            for (int i = 0; i < PAD; i++) {
                coeff[i] = in[0];
                coeff[PAD + n + i] = in[n - 1];
            }
            System.arraycopy(in, 0, coeff, PAD, n);
            prefilter(coeff, len);
            for (int k = 0; k < m; k++) {
                double c = (k + 0.5) * scale - 0.5 + PAD;
                double f = Math.floor(c);
                int s = (int) f - 1;
                double t = c - f;
                double u = 1.0 - t;
                double w0 = u * u * u / 6.0;
                double w1 = (t * t * (t - 2.0) * 3.0 + 4.0) / 6.0;
                double w2 = (u * u * (u - 2.0) * 3.0 + 4.0) / 6.0;
                double w3 = 1.0 - w0 - w1 - w2;
                out[k] = w0 * coeff[clamp(s, len)] + w1 * coeff[clamp(s + 1, len)]
                    + w2 * coeff[clamp(s + 2, len)] + w3 * coeff[clamp(s + 3, len)];
            }
        } else if (order == 1) {
            for (int k = 0; k < m; k++) {
                double c = (k + 0.5) * scale - 0.5;
                double f = Math.floor(c);
                int s = (int) f;
                double t = c - f;
                out[k] = (1.0 - t) * in[clamp(s, n)] + t * in[clamp(s + 1, n)];
            }
        } else {
            for (int k = 0; k < m; k++) {
                double c = (k + 0.5) * scale - 0.5;
                out[k] = in[clamp((int) Math.floor(c + 0.5), n)];
            }
        }
    }

    private static int clamp(int i, int len) {
        return i < 0 ? 0 : (i >= len ? len - 1 : i);
    }

    /** In-place cubic B-spline interpolation coefficients (causal then anti-causal recursion). */
    private static void prefilter(double[] c, int n) {
        for (int i = 0; i < n; i++) {
            c[i] *= GAIN;
        }
        double z = POLE;
        // causal initialisation for a mirror-symmetric extension
        double zn1 = Math.pow(z, n - 1);
        double c0 = c[0] + zn1 * c[n - 1];
        double zi = z;
        for (int i = 1; i < n - 1; i++) {
            c0 += zi * (c[i] + zn1 * c[n - 1 - i]);
            zi *= z;
        }
        c[0] = c0 / (1.0 - zn1 * zn1);
        for (int i = 1; i < n; i++) {
            c[i] += z * c[i - 1];
        }
        c[n - 1] = (z * c[n - 2] + c[n - 1]) * z / (z * z - 1.0);
        for (int i = n - 2; i >= 0; i--) {
            c[i] = z * (c[i + 1] - c[i]);
        }
    }
}
