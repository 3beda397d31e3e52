package org.renalmtl.segmentation;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.renalmtl.weights.SegmentationConfig;

/**
 * What nnU-Net's inference needs from a trained model (weights/FORMAT.md, "Segmentation models"): every spatial
 * array is in the network's axis order, i.e. nnU-Net's (z, y, x) after its NIfTI reader's transpose and after
 * {@code transpose_forward}, as the plans store them.
 *
 * @param patchSize          (3) tile size in voxels
 * @param spacing            (3) target spacing in mm
 * @param transposeForward   (3) permutation applied to the read arrays and spacing
 * @param transposeBackward  (3) its inverse, applied to the exported label map
 * @param channels           one normalisation per input channel, in channel order
 * @param dataResampling     image resampling (order 3 by default)
 * @param logitResampling    logit resampling back to the original grid (order 1 by default)
 * @param numHeads           network output channels: labels with background, or regions
 * @param regionsClassOrder  (numHeads) label written for each region, in order; null for a label-based model
 * @param mirroringAxes      axes that test-time mirroring may flip (may be empty)
 */
public record SegmentationSettings(int[] patchSize, double[] spacing, int[] transposeForward, int[] transposeBackward,
                                   List<ChannelNormalization> channels, ResamplingKwargs dataResampling,
                                   ResamplingKwargs logitResampling, int numHeads, int[] regionsClassOrder,
                                   int[] mirroringAxes) {

    /** Checks every field and copies the arrays so that the record is immutable. */
    public SegmentationSettings {
        patchSize = three(patchSize, "patch_size").clone();
        spacing = spacing == null ? null : spacing.clone();
        if (spacing == null || spacing.length != 3) {
            throw new IllegalArgumentException("spacing must have 3 entries");
        }
        for (int a = 0; a < 3; a++) {
            if (patchSize[a] < 1) {
                throw new IllegalArgumentException("patch_size must be positive, got " + Arrays.toString(patchSize));
            }
            if (!(spacing[a] > 0) || !Double.isFinite(spacing[a])) {
                throw new IllegalArgumentException("spacing must be positive and finite, got " + Arrays.toString(spacing));
            }
        }
        transposeForward = permutation(transposeForward, "transpose_forward").clone();
        transposeBackward = permutation(transposeBackward, "transpose_backward").clone();
        for (int a = 0; a < 3; a++) {
            if (transposeBackward[transposeForward[a]] != a) {
                throw new IllegalArgumentException("transpose_backward " + Arrays.toString(transposeBackward)
                    + " is not the inverse of transpose_forward " + Arrays.toString(transposeForward));
            }
        }
        if (channels == null || channels.isEmpty()) {
            throw new IllegalArgumentException("at least one input channel is needed");
        }
        channels = List.copyOf(channels);
        if (dataResampling == null || logitResampling == null) {
            throw new IllegalArgumentException("resampling settings missing");
        }
        if (numHeads < 1 || numHeads > 255) {
            throw new IllegalArgumentException("num_classes must be 1..255 for a uint8 label map, got " + numHeads);
        }
        if (regionsClassOrder != null) {
            regionsClassOrder = regionsClassOrder.clone();
            if (regionsClassOrder.length != numHeads) {
                throw new IllegalArgumentException("regions_class_order has " + regionsClassOrder.length
                    + " entries for " + numHeads + " regions");
            }
            for (int label : regionsClassOrder) {
                if (label < 0 || label > 255) {
                    throw new IllegalArgumentException("regions_class_order label " + label + " does not fit uint8");
                }
            }
        }
        mirroringAxes = mirroringAxes == null ? new int[0] : mirroringAxes.clone();
        boolean[] seen = new boolean[3];
        for (int a : mirroringAxes) {
            if (a < 0 || a > 2 || seen[a]) {
                throw new IllegalArgumentException("mirroring_axes must be distinct axes 0..2, got "
                    + Arrays.toString(mirroringAxes));
            }
            seen[a] = true;
        }
    }

    /**
     * The settings a segmentation weight file carries (weights/FORMAT.md).
     *
     * @param c the file's config, already validated by its parser
     * @return the same settings in the pipeline's terms
     * @throws IllegalArgumentException if the config asks for what the pipeline does not implement (a
     *     resampling order other than 0, 1 or 3)
     */
    public static SegmentationSettings of(SegmentationConfig c) {
        List<ChannelNormalization> channels = new ArrayList<>();
        for (SegmentationConfig.Channel ch : c.channels()) {
            channels.add(switch (ch.normalization()) {
                case CT -> ChannelNormalization.ct(ch.mean(), ch.std(), ch.percentile005(), ch.percentile995());
                case ZSCORE -> ChannelNormalization.zScore(ch.useMaskForNorm());
                case NONE -> ChannelNormalization.none();
            });
        }
        return new SegmentationSettings(c.patchSize(), c.spacing(), c.transposeForward(), c.transposeBackward(),
                channels, kwargs(c.resampling().data()), kwargs(c.resampling().probabilities()),
                c.network().numClasses(), c.regionsClassOrder(), c.mirroringAxes());
    }

    private static ResamplingKwargs kwargs(SegmentationConfig.ResamplingKwargs k) {
        return new ResamplingKwargs(k.order(), k.orderZ(), k.forceSeparateZ(), k.separateZAnisotropyThreshold());
    }

    private static int[] three(int[] v, String name) {
        if (v == null || v.length != 3) {
            throw new IllegalArgumentException(name + " must have 3 entries (3-D models only)");
        }
        return v;
    }

    private static int[] permutation(int[] v, String name) {
        three(v, name);
        boolean[] seen = new boolean[3];
        for (int a : v) {
            if (a < 0 || a > 2 || seen[a]) {
                throw new IllegalArgumentException(name + " must be a permutation of 0, 1, 2, got " + Arrays.toString(v));
            }
            seen[a] = true;
        }
        return v;
    }

    /** @return whether the model predicts regions (sigmoid per channel) rather than labels (argmax) */
    public boolean regionBased() {
        return regionsClassOrder != null;
    }

    @Override
    public int[] patchSize() {
        return patchSize.clone();
    }

    @Override
    public double[] spacing() {
        return spacing.clone();
    }

    @Override
    public int[] transposeForward() {
        return transposeForward.clone();
    }

    @Override
    public int[] transposeBackward() {
        return transposeBackward.clone();
    }

    @Override
    public int[] regionsClassOrder() {
        return regionsClassOrder == null ? null : regionsClassOrder.clone();
    }

    @Override
    public int[] mirroringAxes() {
        return mirroringAxes.clone();
    }
}
