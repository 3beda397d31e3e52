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
 * <p>Every line of a pass has the same n and m, so the source indices and weights of each output sample are
 * computed once, here, and {@link #zoom} applies them to a block of lines at once, stored interleaved (sample
 * {@code i} of line {@code j} at {@code i·lines + j}): the inner loops then run over adjacent memory. Each line
 * still sees exactly the float64 operations, in the same order, of zooming it alone. An instance is immutable
 * and may be shared by threads; the work array is the caller's.
 */
final class LineZoom {

    /** scipy's prepadding for spline orders above 1 in 'nearest' mode. */
    static final int PAD = 12;
    private static final double POLE = Math.sqrt(3.0) - 2.0;
    private static final double GAIN = (1.0 - POLE) * (1.0 - 1.0 / POLE); // = 6

    private final int n;
    private final int m;
    private final int order;
    private final int taps; // samples read per output: 1, 2 or 4
    private final int[] index; // (m, taps) clamped source index of each tap; into the padded line for order 3
    private final double[] weight; // (m, taps) weight of each tap; unused for order 0

    /**
     * @param n     input length
     * @param m     output length
     * @param order 0, 1 or 3
     */
    LineZoom(int n, int m, int order) {
        this.n = n;
        this.m = m;
        this.order = order;
        this.taps = order == 3 ? 4 : order + 1;
        this.index = new int[m * taps];
        this.weight = new double[m * taps];
        double scale = (double) n / m; // scipy: zoom = in_shape / out_shape in float64
        int len = n + 2 * PAD;
        for (int k = 0; k < m; k++) {
            int o = k * taps;
            if (order == 3) {
                double c = (k + 0.5) * scale - 0.5 + PAD;
                double f = Math.floor(c);
                int s = (int) f - 1;
                double t = c - f;
                double u = 1.0 - t;
                double w0 = u * u * u / 6.0;
                double w1 = (t * t * (t - 2.0) * 3.0 + 4.0) / 6.0;
                double w2 = (u * u * (u - 2.0) * 3.0 + 4.0) / 6.0;
                double[] w = {w0, w1, w2, 1.0 - w0 - w1 - w2};
                for (int j = 0; j < 4; j++) {
                    index[o + j] = clamp(s + j, len);
                    weight[o + j] = w[j];
                }
            } else if (order == 1) {
                double c = (k + 0.5) * scale - 0.5;
                double f = Math.floor(c);
                int s = (int) f;
                double t = c - f;
                index[o] = clamp(s, n);
                index[o + 1] = clamp(s + 1, n);
                weight[o] = 1.0 - t;
                weight[o + 1] = t;
            } else {
                double c = (k + 0.5) * scale - 0.5;
                index[o] = clamp((int) Math.floor(c + 0.5), n);
            }
        }
    }

    /** @return input length */
    int n() {
        return n;
    }

    /** @return output length */
    int m() {
        return m;
    }

    /** @return input samples read per output: 1 (order 0), 2 (order 1) or 4 (order 3) */
    int taps() {
        return taps;
    }

    /** @return the input sample tap {@code t} of output {@code k} reads (0-based, unpadded for orders 0 and 1) */
    int tap(int k, int t) {
        return index[k * taps + t];
    }

    /**
     * Output sample {@code k} of many lines at once, for order 0 or 1, from the input rows it reads: what
     * {@link #zoom} computes for those lines, rounded to float.
     *
     * @param k   output index
     * @param a   (len) input row {@code tap(k, 0)}
     * @param b   (len) input row {@code tap(k, 1)}; unused for order 0
     * @param out (len) receives the output row
     * @param len number of lines
     */
    void row(int k, float[] a, float[] b, float[] out, int len) {
        if (order == 0) {
            System.arraycopy(a, 0, out, 0, len);
            return;
        }
        if (order != 1) {
            throw new IllegalStateException("order " + order + " needs whole lines");
        }
        double w0 = weight[2 * k];
        double w1 = weight[2 * k + 1];
        for (int j = 0; j < len; j++) {
            out[j] = (float) (w0 * a[j] + w1 * b[j]);
        }
    }

    /** @return doubles {@link #zoom} needs in its work array for a block of {@code lines} lines */
    int workLength(int lines) {
        return order == 3 ? (n + 2 * PAD + 1) * lines : 0;
    }

    /**
     * Zooms a block of lines.
     *
     * @param in    (n, lines) input samples, line fastest
     * @param out   (m, lines) receives the output samples
     * @param lines lines in the block
     * @param work  at least {@link #workLength} doubles
     */
    void zoom(double[] in, double[] out, int lines, double[] work) {
        if (order == 3) {
            int len = n + 2 * PAD;
            for (int i = 0; i < PAD; i++) {
                System.arraycopy(in, 0, work, i * lines, lines);
                System.arraycopy(in, (n - 1) * lines, work, (PAD + n + i) * lines, lines);
            }
            System.arraycopy(in, 0, work, PAD * lines, n * lines);
            prefilter(work, len, lines);
            for (int k = 0; k < m; k++) {
                int o = k * 4;
                double w0 = weight[o];
                double w1 = weight[o + 1];
                double w2 = weight[o + 2];
                double w3 = weight[o + 3];
                int a = index[o] * lines;
                int b = index[o + 1] * lines;
                int c = index[o + 2] * lines;
                int d = index[o + 3] * lines;
                int r = k * lines;
                for (int j = 0; j < lines; j++) {
                    out[r + j] = w0 * work[a + j] + w1 * work[b + j] + w2 * work[c + j] + w3 * work[d + j];
                }
            }
        } else if (order == 1) {
            for (int k = 0; k < m; k++) {
                double w0 = weight[2 * k];
                double w1 = weight[2 * k + 1];
                int a = index[2 * k] * lines;
                int b = index[2 * k + 1] * lines;
                int r = k * lines;
                for (int j = 0; j < lines; j++) {
                    out[r + j] = w0 * in[a + j] + w1 * in[b + j];
                }
            }
        } else {
            for (int k = 0; k < m; k++) {
                System.arraycopy(in, index[k] * lines, out, k * lines, lines);
            }
        }
    }

    private static int clamp(int i, int len) {
        return i < 0 ? 0 : (i >= len ? len - 1 : i);
    }

    /**
     * In-place cubic B-spline interpolation coefficients of {@code lines} interleaved lines of length {@code n}
     * (causal then anti-causal recursion); row {@code n} of {@code c} is scratch for the causal initialisation.
     */
    private static void prefilter(double[] c, int n, int lines) {
        for (int i = 0; i < n * lines; i++) {
            c[i] *= GAIN;
        }
        double z = POLE;
        // causal initialisation for a mirror-symmetric extension
        double zn1 = Math.pow(z, n - 1);
        int c0 = n * lines; // the accumulator row
        int last = (n - 1) * lines;
        for (int j = 0; j < lines; j++) {
            c[c0 + j] = c[j] + zn1 * c[last + j];
        }
        double zi = z;
        for (int i = 1; i < n - 1; i++) {
            int a = i * lines;
            int b = (n - 1 - i) * lines;
            for (int j = 0; j < lines; j++) {
                c[c0 + j] += zi * (c[a + j] + zn1 * c[b + j]);
            }
            zi *= z;
        }
        double norm = 1.0 - zn1 * zn1;
        for (int j = 0; j < lines; j++) {
            c[j] = c[c0 + j] / norm;
        }
        for (int i = 1; i < n; i++) {
            int a = i * lines;
            for (int j = 0; j < lines; j++) {
                c[a + j] += z * c[a - lines + j];
            }
        }
        double tail = z * z - 1.0;
        int b = (n - 2) * lines;
        for (int j = 0; j < lines; j++) {
            c[last + j] = (z * c[b + j] + c[last + j]) * z / tail;
        }
        for (int i = n - 2; i >= 0; i--) {
            int a = i * lines;
            for (int j = 0; j < lines; j++) {
                c[a + j] = z * (c[a + lines + j] - c[a + j]);
            }
        }
    }
}
