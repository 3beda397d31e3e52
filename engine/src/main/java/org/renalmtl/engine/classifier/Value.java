package org.renalmtl.engine.classifier;

/**
 * Shape of one per-sample activation value: (C, D, H, W). The batch size is the plan's.
 *
 * @param channels C
 * @param d depth (z)
 * @param h height (y)
 * @param w width (x)
 */
public record Value(int channels, int d, int h, int w) {
    /** @return voxels per channel */
    public long spatial() {
        return (long) d * h * w;
    }

    /** @return elements per sample */
    public long elements() {
        return channels * spatial();
    }
}
