package org.renalmtl.segmentation;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The deterministic patch network of the oracle tests, the same float32 operations in the same order as
 * {@code SimpleNet} in nnunet_reference.py: {@code logits[k] = b[k] + Σ_c W[k,c]·x[c] + P[k]·x[0]}. It is
 * pointwise in the channels, but the per-position term P makes tiles and their mirror images differ, so the
 * flip bookkeeping and tile placement are tested, not only the arithmetic.
 */
final class SimpleNetwork implements PatchNetwork {

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT;

    private final float[] w; // (K, C)
    private final float[] b; // (K)
    private final float[] p; // (K, pz, py, px)
    private final int channels;
    private final int heads;
    private final long voxels; // pz·py·px
    int calls;
    int maxBatch;

    SimpleNetwork(float[] w, float[] b, float[] p, int channels, int heads, int[] patch) {
        this.w = w;
        this.b = b;
        this.p = p;
        this.channels = channels;
        this.heads = heads;
        this.voxels = (long) patch[0] * patch[1] * patch[2];
    }

    @Override
    public void run(MemorySegment tiles, int n, MemorySegment logits) {
        calls++;
        maxBatch = Math.max(maxBatch, n);
        for (int t = 0; t < n; t++) {
            long in = t * channels * voxels;
            long out = t * heads * voxels;
            for (int k = 0; k < heads; k++) {
                for (long i = 0; i < voxels; i++) {
                    float y = b[k];
                    for (int c = 0; c < channels; c++) {
                        y = y + w[k * channels + c] * tiles.getAtIndex(F32, in + c * voxels + i);
                    }
                    y = y + p[(int) (k * voxels + i)] * tiles.getAtIndex(F32, in + i);
                    logits.setAtIndex(F32, out + k * voxels + i, y);
                }
            }
        }
    }
}
