package org.renalmtl.weights;

/**
 * The bounds {@link SegmentationConfigParser} puts on every size and count of a segmentation config
 * (FORMAT.md, "Segmentation models"). Each is well above nnU-Net's own plans (6–7 stages, at most 320
 * or 512 features, kernels of 3, strides of 2, patches up to about 256 per axis) yet keeps what a
 * config alone can make the reader build or the engine allocate bounded.
 */
public final class SegmentationLimits {
    private SegmentationLimits() {}

    /** Fewest encoder stages: with one there is no decoder, hence no seg layer. */
    public static final int MIN_STAGES = 2;
    /** Most encoder stages. */
    public static final int MAX_STAGES = 10;
    /** Channels of one stage. */
    public static final int FEATURES = 2048;
    /** Largest conv kernel, per axis (kernels are odd: "same" padding (k − 1) / 2). */
    public static final int KERNEL = 7;
    /** Largest stride, per axis. */
    public static final int STRIDE = 4;
    /** Convs (or residual blocks) of one stage. */
    public static final int CONVS_PER_STAGE = 16;
    /** Patch size, voxels per axis. */
    public static final int PATCH = 512;
    /** Input channels. */
    public static final int CHANNELS = 8;
    /** Output channels (labels incl. background, or regions). */
    public static final int CLASSES = 64;
    /** Labels in {@code labels}: every class, the background and an ignore label. */
    public static final int LABELS = CLASSES + 2;
    /** Largest label value (masks are written as unsigned bytes). */
    public static final int LABEL_VALUE = 255;
    /** Largest spline order of resampling. */
    public static final int ORDER = 5;
    /** Free text (model name, dataset, trainer, plans, configuration, checkpoint), in characters. */
    public static final int TEXT = 256;
    /** Largest magnitude of an intensity statistic (HU, or MR intensities). */
    public static final double INTENSITY = 1e7;
}
