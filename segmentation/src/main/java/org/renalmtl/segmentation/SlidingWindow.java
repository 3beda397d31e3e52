package org.renalmtl.segmentation;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;

/**
 * nnUNetPredictor's {@code predict_sliding_window_return_logits}: pad to the patch (constant 0, odd voxel after),
 * tiles at nnU-Net's steps (axis 0 outermost), each tile predicted as the mean of the network over the mirror
 * variants (identity, then every combination of the allowed axes in {@code itertools.combinations} order, summed
 * in float32 in that order and divided by their count), weighted by the Gaussian and accumulated, with the
 * weights, in the chosen accumulator type ({@link TileAccumulator}); finally logits = accumulated / weights.
 *
 * <p>In fp16 this is PyTorch's arithmetic: the float32 product {@code prediction·g} is added to the fp16
 * accumulator in float32 and rounded to fp16; the weights add fp16 to fp16 the same way; the final division is
 * float32 rounded to fp16. Padding is never materialised: tiles read zeros outside the image and only voxels
 * inside it are accumulated (nnU-Net crops the padded rest away). Buffers are allocated once per call.
 */
public final class SlidingWindow {

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT;

    private SlidingWindow() {
    }

    /**
     * @param data     (C, D, H, W) float32 preprocessed image
     * @param settings patch size, mirroring axes, number of outputs
     * @param network  the network
     * @param options  mirroring, accumulator type, batch size, step
     * @return (K, D, H, W) logits, stored in the accumulator type; close when done
     * @throws IllegalStateException when fp16 accumulation overflows (nnU-Net aborts likewise)
     */
    public static Grid predict(Grid data, SegmentationSettings settings, PatchNetwork network,
                               PredictionOptions options) {
        int nc = data.channels();
        int k = settings.numHeads();
        int[] s = data.shape();
        int[] p = settings.patchSize();
        int[] before = new int[3];
        int[][] steps = new int[3][];
        for (int a = 0; a < 3; a++) {
            before[a] = NnunetMath.padBefore(s[a], p[a]);
            steps[a] = NnunetMath.steps(Math.max(s[a], p[a]), p[a], options.tileStepSize());
        }
        List<int[]> tiles = new ArrayList<>();
        for (int z : steps[0]) {
            for (int y : steps[1]) {
                for (int x : steps[2]) {
                    tiles.add(new int[] {z - before[0], y - before[1], x - before[2]}); // tile origin in image coordinates
                }
            }
        }
        int[] variants = mirrorVariants(options.mirroring() ? settings.mirroringAxes() : new int[0]);
        Grid.Storage acc = options.accumulation();
        float[] gaussian = GaussianMap.compute(p, acc);
        long pv = (long) p[0] * p[1] * p[2];
        int batch = options.batchSize();
        Grid logits = Grid.allocate(k, s, acc, "logits");
        try (Arena arena = Arena.ofShared()) {
            MemorySegment in = arena.allocate(batch * nc * pv * Float.BYTES, 64); // (batch, C, pz, py, px)
            MemorySegment out = arena.allocate(batch * k * pv * Float.BYTES, 64); // (batch, K, pz, py, px)
            // (K, pz, py, px) mirror sum of one tile
            MemorySegment sum = variants.length > 1 ? arena.allocate(k * pv * Float.BYTES, 64) : null;
            long jobs = (long) tiles.size() * variants.length;
            for (long first = 0; first < jobs; first += batch) {
                int n = (int) Math.min(batch, jobs - first);
                for (int j = 0; j < n; j++) {
                    long job = first + j;
                    fillTile(data, tiles.get((int) (job / variants.length)), variants[(int) (job % variants.length)], p,
                        in.asSlice(j * nc * pv * Float.BYTES, nc * pv * Float.BYTES));
                }
                network.run(in, n, out);
                for (int j = 0; j < n; j++) {
                    long job = first + j;
                    int v = (int) (job % variants.length);
                    MemorySegment prediction = out.asSlice(j * k * pv * Float.BYTES, k * pv * Float.BYTES);
                    int[] tile = tiles.get((int) (job / variants.length));
                    if (variants.length == 1) {
                        // the mean of one unflipped prediction is itself: no copy into the sum
                        TileAccumulator.add(prediction, 1, gaussian, tile, p, logits);
                        continue;
                    }
                    addVariant(prediction, sum, variants[v], v == 0, p, k);
                    if (v == variants.length - 1) {
                        TileAccumulator.add(sum, variants.length, gaussian, tile, p, logits);
                    }
                }
            }
            TileAccumulator.divide(logits, gaussian, tiles, p);
            return logits;
        } catch (RuntimeException e) {
            logits.close();
            throw e;
        }
    }

    /**
     * @param axes allowed mirroring axes
     * @return flip masks (bit a: flip axis a): identity first, then all combinations by size, in order
     */
    static int[] mirrorVariants(int[] axes) {
        List<Integer> masks = new ArrayList<>();
        masks.add(0);
        int m = axes.length;
        for (int size = 1; size <= m; size++) {
            combinations(axes, size, 0, 0, masks);
        }
        return masks.stream().mapToInt(Integer::intValue).toArray();
    }

    private static void combinations(int[] axes, int left, int from, int mask, List<Integer> out) {
        if (left == 0) {
            out.add(mask);
            return;
        }
        for (int i = from; i <= axes.length - left; i++) {
            combinations(axes, left - 1, i + 1, mask | (1 << axes[i]), out);
        }
    }

    /** Copies one tile, flipped by {@code flip}, with zeros outside the image. */
    private static void fillTile(Grid data, int[] origin, int flip, int[] p, MemorySegment dst) {
        int[] s = data.shape();
        int nc = data.channels();
        int x0 = Math.max(0, -origin[2]); // the tile's columns inside the image, before flipping
        int x1 = Math.min(p[2], s[2] - origin[2]);
        IntStream.range(0, nc * p[0]).parallel().forEach(cz -> {
            float[] row = new float[p[2]]; // (px) one tile row, unflipped
            int c = cz / p[0];
            int z = cz % p[0];
            int iz = origin[0] + ((flip & 1) != 0 ? p[0] - 1 - z : z);
            for (int y = 0; y < p[1]; y++) {
                int iy = origin[1] + ((flip & 2) != 0 ? p[1] - 1 - y : y);
                Arrays.fill(row, 0f);
                if (iz >= 0 && iz < s[0] && iy >= 0 && iy < s[1] && x0 < x1) {
                    data.read(c, data.index(iz, iy, origin[2] + x0), row, x0, x1 - x0);
                }
                if ((flip & 4) != 0) {
                    reverse(row);
                }
                MemorySegment.copy(row, 0, dst, F32, ((long) cz * p[1] + y) * p[2] * Float.BYTES, p[2]);
            }
        });
    }

    /** sum = out flipped back (first variant) or sum += out flipped back, float32. */
    private static void addVariant(MemorySegment out, MemorySegment sum, int flip, boolean first, int[] p, int k) {
        IntStream.range(0, k * p[0]).parallel().forEach(kz -> {
            float[] row = new float[p[2]]; // (px) one row of the variant, flipped back
            float[] acc = new float[p[2]]; // (px) the same row of the sum
            int ch = kz / p[0];
            int z = kz % p[0];
            int sz = (flip & 1) != 0 ? p[0] - 1 - z : z;
            for (int y = 0; y < p[1]; y++) {
                int sy = (flip & 2) != 0 ? p[1] - 1 - y : y;
                long d = ((long) kz * p[1] + y) * p[2] * Float.BYTES;
                long src = (((long) ch * p[0] + sz) * p[1] + sy) * p[2] * Float.BYTES;
                MemorySegment.copy(out, F32, src, row, 0, p[2]);
                if ((flip & 4) != 0) {
                    reverse(row);
                }
                if (!first) {
                    MemorySegment.copy(sum, F32, d, acc, 0, p[2]);
                    for (int x = 0; x < p[2]; x++) {
                        row[x] = acc[x] + row[x];
                    }
                }
                MemorySegment.copy(row, 0, sum, F32, d, p[2]);
            }
        });
    }

    private static void reverse(float[] a) {
        for (int i = 0, j = a.length - 1; i < j; i++, j--) {
            float t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }
}
