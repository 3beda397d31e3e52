package org.renalmtl.segmentation;

/**
 * nnU-Net's {@code compute_gaussian}: scipy's {@code gaussian_filter} (σ = patch/8 per axis, truncated at 4σ,
 * constant mode) applied to a unit impulse at {@code patch // 2}, divided by its maximum and scaled to 10, in
 * float64; then cast to the accumulator type, with zeros (fp16 underflow at the patch corners) replaced by the
 * smallest non-zero value.
 *
 * <p>Filtering an impulse gives, at every voxel, the product of the three normalised 1-D kernel taps, in the
 * order scipy multiplies them (axis 0, then 1, then 2); the kernel is normalised by its sum, which numpy forms
 * pairwise. So the float64 map is reproduced bit for bit without filtering anything.
 */
final class GaussianMap {

    private GaussianMap() {
    }

    /**
     * @param patch   (3) tile size
     * @param storage FLOAT16 (nnU-Net) or FLOAT32
     * @return (pz·py·px) weights as float, already rounded to the storage type
     */
    static float[] compute(int[] patch, Grid.Storage storage) {
        double[][] w = new double[3][];
        for (int a = 0; a < 3; a++) {
            w[a] = taps(patch[a]);
        }
        int c0 = patch[0] / 2;
        int c1 = patch[1] / 2;
        int c2 = patch[2] / 2;
        double max = w[0][c0] * w[1][c1] * w[2][c2];
        double scale = max / 10.0;
        int n = patch[0] * patch[1] * patch[2];
        float[] g = new float[n]; // (pz, py, px)
        float minPositive = Float.POSITIVE_INFINITY;
        int i = 0;
        for (int z = 0; z < patch[0]; z++) {
            for (int y = 0; y < patch[1]; y++) {
                double zy = w[0][z] * w[1][y];
                for (int x = 0; x < patch[2]; x++) {
                    float v = (float) (zy * w[2][x] / scale);
                    if (storage == Grid.Storage.FLOAT16) {
                        v = Float.float16ToFloat(Float.floatToFloat16(v));
                    }
                    g[i++] = v;
                    if (v > 0 && v < minPositive) {
                        minPositive = v;
                    }
                }
            }
        }
        for (int k = 0; k < n; k++) {
            if (g[k] == 0f) {
                g[k] = minPositive;
            }
        }
        return g;
    }

    /** The normalised kernel tap seen by each position of an axis of length p (0 beyond the truncation). */
    private static double[] taps(int p) {
        double sigma = p * (1.0 / 8);
        int radius = (int) (4.0 * sigma + 0.5);
        double[] phi = new double[2 * radius + 1];
        double k = -0.5 / (sigma * sigma);
        for (int x = -radius; x <= radius; x++) {
            phi[x + radius] = Math.exp(k * (x * x));
        }
        double sum = phi[0] + pairwiseSum(phi, 1, phi.length - 1);
        int c = p / 2;
        double[] w = new double[p];
        for (int i = 0; i < p; i++) {
            int d = i - c;
            w[i] = Math.abs(d) <= radius ? phi[d + radius] / sum : 0.0;
        }
        return w;
    }

    /** numpy's pairwise summation of {@code n} values from {@code off} (8 accumulators, blocks of 128). */
    static double pairwiseSum(double[] a, int off, int n) {
        if (n < 8) {
            double res = 0.0;
            for (int i = 0; i < n; i++) {
                res += a[off + i];
            }
            return res;
        }
        if (n <= 128) {
            double[] r = new double[8];
            System.arraycopy(a, off, r, 0, 8);
            int i;
            for (i = 8; i < n - (n % 8); i += 8) {
                for (int j = 0; j < 8; j++) {
                    r[j] += a[off + i + j];
                }
            }
            double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
            for (; i < n; i++) {
                res += a[off + i];
            }
            return res;
        }
        int n2 = n / 2;
        n2 -= n2 % 8;
        return pairwiseSum(a, off, n2) + pairwiseSum(a, off + n2, n - n2);
    }
}
