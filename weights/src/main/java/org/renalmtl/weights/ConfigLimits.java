package org.renalmtl.weights;

/**
 * The bounds {@link ConfigParser} puts on every size and count of a config (FORMAT.md, "Limits").
 * Each is far above any model of the paper (R50, 3 phases, 96³, a few experts) yet keeps what a
 * config alone can make the reader build (tensor list, allocation) small; the tensor bytes are
 * further bounded by the file's own size when a file is loaded.
 */
public final class ConfigLimits {
    private ConfigLimits() {}

    /** The config attribute, in bytes (1 MiB; real configs are about 2 KiB). */
    public static final int CONFIG_BYTES = 1 << 20;
    /** Length of a name (task, phase, network), in characters. */
    public static final int NAME_CHARS = 64;
    /** Contrast phases. */
    public static final int PHASES = 8;
    /** Tasks in a model. */
    public static final int TASKS = 16;
    /** Networks in a model (at most one per task anyway). */
    public static final int NETWORKS = TASKS;
    /** Network input size, voxels per axis. */
    public static final int INPUT_SIZE = 1024;
    /** Smallest voxel spacing, mm. */
    public static final double MIN_SPACING_MM = 1e-3;
    /** Largest voxel spacing, mm. */
    public static final double MAX_SPACING_MM = 1e3;
    /** Largest margin around the tumour box, mm. */
    public static final double MAX_MARGIN_MM = 1e3;
    /** Any channel width or hidden width. */
    public static final int WIDTH = 65_536;
    /** Largest stem kernel, per axis. */
    public static final int STEM_KERNEL = 15;
    /** Largest stage stride. */
    public static final int STAGE_STRIDE = 4;
    /** Largest stage dilation. */
    public static final int DILATION = 16;
    /** Hidden layers of one MLP (expert, gate, tower, MLP head). */
    public static final int HIDDEN_LAYERS = 8;
    /** PLE levels. */
    public static final int LEVELS = 8;
    /** PLE experts of one kind per level (task experts per task, and shared experts). */
    public static final int EXPERTS = 32;
    /** Parameters of the whole model (8 GiB as float32; the paper's R50 has about 50 million). */
    public static final long PARAMETERS = Integer.MAX_VALUE;
}
