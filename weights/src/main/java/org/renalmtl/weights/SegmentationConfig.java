package org.renalmtl.weights;

import java.util.List;

/**
 * The config of a segmentation weight file (FORMAT.md, "Segmentation models (nnU-Net v2)"): one
 * nnU-Net v2 network (one fold) and everything {@code nnUNetPredictor} needs to run it. Immutable;
 * built by {@link SegmentationConfigParser}, which checks it completely, so every field below holds
 * within {@link SegmentationLimits} and the cross-field rules of FORMAT.md. Spatial arrays are in the
 * network's axis order (z, y, x after {@code transpose_forward}).
 *
 * @param producer free text naming the exporter
 * @param name human-readable model name
 * @param source where the network came from (informational)
 * @param network the architecture, as dynamic-network-architectures builds it
 * @param patchSize the sliding-window patch, voxels per axis // (3)
 * @param spacing the target spacing in mm per axis // (3)
 * @param transposeForward axis permutation applied after reading an image // (3), a permutation of 0..2
 * @param transposeBackward its inverse, applied before writing // (3)
 * @param channels one per input channel, in channel order
 * @param resampling the resampling of images and of probabilities
 * @param labels the labels of {@code dataset.json}, in file order
 * @param regionsClassOrder for a region-based model the label value written for each region, in
 *     output-channel order ({@code num_classes} entries); null for a label-based model
 * @param mirroringAxes the axes test-time mirroring may flip (0..2, distinct, possibly none)
 * @param renalMtl which labels and phases the engine's {@code predict} uses
 * @param json the config exactly as stored
 */
public record SegmentationConfig(
        String producer,
        String name,
        Source source,
        Network network,
        int[] patchSize,
        double[] spacing,
        int[] transposeForward,
        int[] transposeBackward,
        List<Channel> channels,
        Resampling resampling,
        List<Label> labels,
        int[] regionsClassOrder,
        int[] mirroringAxes,
        RenalMtl renalMtl,
        String json) {

    /** The value of the config's {@code format}. */
    public static final String FORMAT = "renal-mtl-segmentation";
    /** The value of the config's {@code format_version}. */
    public static final int FORMAT_VERSION = 1;

    /** @return whether the model predicts regions (sigmoid per channel) rather than labels (softmax) */
    public boolean regionBased() {
        return regionsClassOrder != null;
    }

    /**
     * @return the label of this name
     * @throws IllegalArgumentException if there is none
     */
    public Label label(String labelName) {
        for (Label l : labels) {
            if (l.name().equals(labelName)) {
                return l;
            }
        }
        throw new IllegalArgumentException("no label '" + labelName + "' in " + name);
    }

    /**
     * Where the network was trained (informational; not used for inference).
     *
     * @param dataset e.g. {@code Dataset220_KiTS2023}
     * @param trainer e.g. {@code nnUNetTrainer}
     * @param plans e.g. {@code nnUNetPlans}
     * @param configuration e.g. {@code 3d_fullres}
     * @param fold the fold: a non-negative integer as text, or {@code all}
     * @param checkpoint the checkpoint file name
     */
    public record Source(String dataset, String trainer, String plans, String configuration, String fold,
            String checkpoint) {}

    /** The network classes of dynamic-network-architectures the engine builds. */
    public enum Architecture {
        /** {@code PlainConvUNet}: stacked conv blocks per stage, strided first conv. */
        PLAIN_CONV_UNET("PlainConvUNet"),
        /** {@code ResidualEncoderUNet}: a stem, BasicBlockD residual stages, the plain decoder. */
        RESIDUAL_ENCODER_UNET("ResidualEncoderUNet");

        private final String className;

        Architecture(String className) {
            this.className = className;
        }

        /** @return the Python class name, as in the config's {@code network.class} */
        public String className() {
            return className;
        }
    }

    /**
     * The network, as nnU-Net builds it from the plans' {@code arch_kwargs}. Per-stage arrays have one
     * entry per encoder stage (S of them), decoder arrays S − 1.
     *
     * @param architecture the class
     * @param inputChannels input channels
     * @param numClasses output channels of the last seg layer: labels incl. background, or regions
     * @param featuresPerStage channels of each encoder stage // (S)
     * @param kernelSizes conv kernel of each stage, odd // (S, 3)
     * @param strides stride of each stage's first conv (or block) // (S, 3)
     * @param nConvPerStage convs per encoder stage ({@code n_blocks_per_stage} of a residual encoder) // (S)
     * @param nConvPerStageDecoder convs per decoder stage, from the deepest // (S - 1)
     * @param convBias whether the convs and transposed convs have a bias
     * @param normEps the InstanceNorm3d epsilon
     * @param normAffine whether the InstanceNorm3d has weight and bias
     * @param negativeSlope the LeakyReLU's negative slope
     */
    public record Network(
            Architecture architecture,
            int inputChannels,
            int numClasses,
            int[] featuresPerStage,
            int[][] kernelSizes,
            int[][] strides,
            int[] nConvPerStage,
            int[] nConvPerStageDecoder,
            boolean convBias,
            double normEps,
            boolean normAffine,
            double negativeSlope) {
        /** @return the number of encoder stages */
        public int stages() {
            return featuresPerStage.length;
        }

        /** @return per axis, the product of all strides: a patch must be a multiple of it // (3) */
        public int[] totalStride() {
            int[] t = {1, 1, 1};
            for (int[] s : strides) {
                for (int a = 0; a < 3; a++) {
                    t[a] *= s[a];
                }
            }
            return t;
        }
    }

    /** nnU-Net's intensity normalisation schemes. */
    public enum Normalization {
        /** {@code CTNormalization}: clip to the foreground percentiles, then the foreground z-score. */
        CT("CTNormalization"),
        /** {@code ZScoreNormalization}: the image's own z-score (over the mask when so configured). */
        ZSCORE("ZScoreNormalization"),
        /** {@code NoNormalization}: values as read. */
        NONE("NoNormalization");

        private final String schemeName;

        Normalization(String schemeName) {
            this.schemeName = schemeName;
        }

        /** @return the scheme's name in the plans and the config */
        public String schemeName() {
            return schemeName;
        }
    }

    /**
     * One input channel.
     *
     * @param name the channel's name in {@code dataset.json} (e.g. {@code CT})
     * @param normalization its scheme
     * @param useMaskForNorm whether the z-score is taken over the nonzero mask only
     * @param mean foreground mean (required for CT; NaN when absent for the others)
     * @param std foreground standard deviation, ≥ 0 (likewise)
     * @param percentile005 foreground 0.5 % percentile (likewise)
     * @param percentile995 foreground 99.5 % percentile, ≥ {@code percentile005} (likewise)
     */
    public record Channel(String name, Normalization normalization, boolean useMaskForNorm, double mean, double std,
            double percentile005, double percentile995) {}

    /**
     * nnU-Net's {@code resample_data_or_seg_to_shape} keyword arguments.
     *
     * @param order spline order in-plane (or everywhere when not separate), 0..5
     * @param orderZ order along the out-of-plane axis when resampled separately, 0..5
     * @param forceSeparateZ true or false to force, null to decide by the anisotropy threshold
     * @param separateZAnisotropyThreshold the spacing ratio above which z is resampled separately
     */
    public record ResamplingKwargs(int order, int orderZ, Boolean forceSeparateZ, double separateZAnisotropyThreshold) {}

    /**
     * @param data images to the network's spacing
     * @param probabilities logits back to the original grid
     */
    public record Resampling(ResamplingKwargs data, ResamplingKwargs probabilities) {}

    /**
     * A label of {@code dataset.json}.
     *
     * @param name its name
     * @param values the label value, or the values that make up a region
     * @param region whether {@code dataset.json} gives a list (a region) rather than one integer
     */
    public record Label(String name, int[] values, boolean region) {}

    /**
     * How the engine's {@code predict} uses the network.
     *
     * @param tumourLabel the label that is the tumour
     * @param kidneyLabel the label that is the kidney, or null if the model has none
     * @param phases the phase each input channel reads, in channel order; empty: not given, any phase
     *     (a one-channel network then segments each phase it is given)
     */
    public record RenalMtl(String tumourLabel, String kidneyLabel, List<String> phases) {}
}
