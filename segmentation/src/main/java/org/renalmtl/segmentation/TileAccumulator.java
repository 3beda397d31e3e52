package org.renalmtl.segmentation;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;

/**
 * The sliding window's accumulation: each tile's mean prediction times the Gaussian added to the logits inside
 * the image, then the logits divided by the sum of the Gaussians, in the accumulator type, row by row.
 *
 * <p>The Gaussian sum is not kept as a full-size grid: it depends only on where the tiles lie, so
 * {@link #divide} rebuilds it one slice at a time, adding the tiles that cover the slice in tile order and
 * rounding after each addition exactly as accumulating it with the logits would.
 */
final class TileAccumulator {

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT;

    private TileAccumulator() {
    }

    /**
     * logits += (sum / nVariants) · g inside the image, rounded to the logits' storage after each addition.
     *
     * @param sum       (K, pz, py, px) float32 sum of the tile's mirror variants
     * @param nVariants how many variants were summed
     * @param g         (pz·py·px) the Gaussian, already in the accumulator type
     * @param origin    (3) tile origin in image coordinates (may be negative: padding)
     * @param p         (3) patch size
     * @param logits    (K, D, H, W) accumulator
     */
    static void add(MemorySegment sum, int nVariants, float[] g, int[] origin, int[] p, Grid logits) {
        int[] s = logits.shape();
        int k = logits.channels();
        int[] lo = new int[3];
        int[] hi = new int[3];
        for (int a = 0; a < 3; a++) {
            lo[a] = Math.max(0, -origin[a]);
            hi[a] = Math.min(p[a], s[a] - origin[a]);
            if (lo[a] >= hi[a]) {
                return;
            }
        }
        int len = hi[2] - lo[2];
        float div = nVariants;
        IntStream.range(lo[0], hi[0]).parallel().forEach(z -> {
            float[] pred = new float[len]; // (len) one row of the prediction
            float[] acc = new float[len]; // (len) the same row of the accumulator
            // channel outermost: consecutive rows of one channel are equally spaced, which the hardware
            // prefetcher follows (alternating channels halves the speed on a 1.6 GB accumulator)
            for (int ch = 0; ch < k; ch++) {
                for (int y = lo[1]; y < hi[1]; y++) {
                    int t = (z * p[1] + y) * p[2] + lo[2];
                    long i = logits.index(origin[0] + z, origin[1] + y, origin[2] + lo[2]);
                    MemorySegment.copy(sum, F32, ((long) ch * g.length + t) * Float.BYTES, pred, 0, len);
                    logits.read(ch, i, acc, 0, len);
                    if (nVariants > 1) {
                        for (int x = 0; x < len; x++) {
                            acc[x] = acc[x] + pred[x] / div * g[t + x];
                        }
                    } else {
                        for (int x = 0; x < len; x++) {
                            acc[x] = acc[x] + pred[x] * g[t + x];
                        }
                    }
                    logits.write(ch, i, acc, 0, len);
                }
            }
        });
    }

    /**
     * logits /= Gaussian sum in the accumulator type.
     *
     * @param logits (K, D, H, W) accumulated logits, divided in place
     * @param g      (pz·py·px) the Gaussian, already in the accumulator type
     * @param tiles  every tile's origin in image coordinates, in the order they were added
     * @param p      (3) patch size
     * @throws IllegalStateException when a result is infinite (fp16 overflow; nnU-Net aborts likewise)
     */
    static void divide(Grid logits, float[] g, List<int[]> tiles, int[] p) {
        int[] s = logits.shape();
        int k = logits.channels();
        boolean fp16 = logits.storage() == Grid.Storage.FLOAT16;
        List<Boolean> overflow = Chunks.map(s[0], 1, (z0, z1) -> {
            float[] w = new float[s[1] * s[2]]; // (H, W) Gaussian sum of one slice
            float[] row = new float[s[2]]; // (W) one logit row
            boolean inf = false;
            for (int z = (int) z0; z < z1; z++) {
                weights(z, s, g, tiles, p, fp16, w);
                for (int ch = 0; ch < k; ch++) {
                    for (int y = 0; y < s[1]; y++) {
                        long i = logits.index(z, y, 0);
                        logits.read(ch, i, row, 0, s[2]);
                        int o = y * s[2];
                        for (int x = 0; x < s[2]; x++) {
                            row[x] = row[x] / w[o + x];
                        }
                        logits.write(ch, i, row, 0, s[2]);
                        logits.read(ch, i, row, 0, s[2]);
                        for (float v : row) {
                            inf |= Float.isInfinite(v);
                        }
                    }
                }
            }
            return inf;
        });
        if (overflow.contains(Boolean.TRUE)) {
            throw new IllegalStateException("the accumulated logits overflowed (infinite values); accumulate in float32");
        }
    }

    /** The Gaussian sum of slice z: every tile covering it, in order, each addition rounded to the storage. */
    private static void weights(int z, int[] s, float[] g, List<int[]> tiles, int[] p, boolean fp16, float[] w) {
        Arrays.fill(w, 0f);
        for (int[] o : tiles) {
            int tz = z - o[0];
            if (tz < 0 || tz >= p[0]) {
                continue;
            }
            int y0 = Math.max(0, -o[1]);
            int y1 = Math.min(p[1], s[1] - o[1]);
            int x0 = Math.max(0, -o[2]);
            int x1 = Math.min(p[2], s[2] - o[2]);
            for (int y = y0; y < y1; y++) {
                int t = (tz * p[1] + y) * p[2] - o[2];
                int r = (o[1] + y) * s[2];
                for (int x = o[2] + x0; x < o[2] + x1; x++) {
                    float v = w[r + x] + g[t + x];
                    w[r + x] = fp16 ? Float.float16ToFloat(Float.floatToFloat16(v)) : v;
                }
            }
        }
    }
}
