package org.renalmtl.weights;

import java.util.List;

/**
 * The model config stored in a weight file (FORMAT.md): tasks, input geometry, preprocessing and
 * one or more networks. Immutable; built by {@link ConfigParser}, which checks it completely.
 *
 * @param formatVersion the file's format version, 1 or 2 (version 2 adds head activations, per-level expert
 *     widths and BatchNorm in gate hidden layers; FORMAT.md)
 * @param producer free text naming the exporter
 * @param name human-readable model name
 * @param phases contrast phases in the order the networks read them
 * @param tasks the tasks, in output order
 * @param input network input geometry
 * @param preprocessing intensity preprocessing
 * @param networks the networks; each task is predicted by exactly one
 * @param json the config exactly as stored, for reports and re-export
 */
public record ModelConfig(
        int formatVersion,
        String producer,
        String name,
        List<String> phases,
        List<Task> tasks,
        Input input,
        Preprocessing preprocessing,
        List<Network> networks,
        String json) {

    /** The newest format version this reader reads (it reads every version from 1). */
    public static final int FORMAT_VERSION = 2;

    /**
     * One binary task.
     *
     * @param name short id, e.g. {@code ccrcc}
     * @param positive meaning of the positive class
     * @param negative meaning of the negative class
     * @param threshold label positive iff probability ≥ threshold
     */
    public record Task(String name, String positive, String negative, double threshold) {}

    /**
     * Network input geometry of one phase.
     *
     * @param size (D, H, W) voxels
     * @param spacingMm (z, y, x) voxel spacing in mm
     * @param marginMm margin added around the tumour bounding box, mm
     */
    public record Input(int[] size, double[] spacingMm, double marginMm) {}

    /**
     * Intensity preprocessing.
     *
     * @param huLow lower clip, HU
     * @param huHigh upper clip, HU
     * @param normalisation {@code zscore} or {@code window}
     * @param mean z-score mean (HU)
     * @param std z-score standard deviation (HU)
     */
    public record Preprocessing(double huLow, double huHigh, String normalisation, double mean, double std) {}

    /** How the phases reach the backbone (FORMAT.md, "Phase fusion"). */
    public enum Fusion {
        /** One backbone, phases as a batch; features concatenated. */
        BATCH,
        /** One backbone, phases as input channels. */
        CHANNELS,
        /** One backbone per phase; features concatenated. */
        SEPARATE
    }

    /** Shortcut type of the residual blocks where shape changes. */
    public enum Shortcut {
        /** Subsample + zero-pad channels, no weights. */
        A,
        /** 1³ conv + BatchNorm. */
        B
    }

    /**
     * One network: backbone, fusion and head, with its tensors under {@code prefix}.
     *
     * @param name network id, e.g. {@code mtdl}
     * @param prefix tensor name prefix, e.g. {@code ""} or {@code "stage."}
     * @param tasks the tasks this network predicts, in head order
     * @param fusion phase fusion
     * @param backbone the 3D ResNet
     * @param head PLE or MLP head
     */
    public record Network(String name, String prefix, List<String> tasks, Fusion fusion, Backbone backbone, Head head) {
        /** @return width of the fused feature vector that enters the head */
        public int fusedFeatures(int phases) {
            return fusion == Fusion.CHANNELS ? backbone.featureWidth() : phases * backbone.featureWidth();
        }
    }

    /**
     * Stem of the ResNet: conv1 → bn1 → ReLU → optional 3³/2 max-pool.
     *
     * @param kernel (kd, kh, kw)
     * @param stride (sd, sh, sw)
     * @param padding (pd, ph, pw)
     * @param maxPool whether the 3³ stride-2 padding-1 max-pool follows
     */
    public record Stem(int[] kernel, int[] stride, int[] padding, boolean maxPool) {}

    /**
     * A 3D ResNet backbone.
     *
     * @param depth 10, 18, 34 or 50
     * @param flavour informational: medicalnet, hara or monai
     * @param inChannels input channels of conv1
     * @param widths stage widths (before expansion)
     * @param stem the stem
     * @param strides stride of each stage's first block
     * @param dilations dilation of each stage's 3³ convs
     * @param shortcut shortcut type where shape changes
     * @param downsampleBias whether {@code downsample.0} has a bias (MONAI)
     */
    public record Backbone(
            int depth,
            String flavour,
            int inChannels,
            int[] widths,
            Stem stem,
            int[] strides,
            int[] dilations,
            Shortcut shortcut,
            boolean downsampleBias) {

        /** @return blocks per stage */
        public int[] blocks() {
            return switch (depth) {
                case 10 -> new int[] {1, 1, 1, 1};
                case 18 -> new int[] {2, 2, 2, 2};
                case 34, 50 -> new int[] {3, 4, 6, 3};
                default -> throw new IllegalStateException("depth " + depth);
            };
        }

        /** @return whether blocks are Bottlenecks (1³, 3³, 1³) rather than BasicBlocks */
        public boolean bottleneck() {
            return depth >= 50;
        }

        /** @return channel expansion of a block's output over its width */
        public int expansion() {
            return bottleneck() ? 4 : 1;
        }

        /** @return features per volume after global average pooling */
        public int featureWidth() {
            return widths[widths.length - 1] * expansion();
        }
    }

    /**
     * The activation of a head's hidden layers (FORMAT.md {@code activation}; ReLU in format version 1).
     *
     * @param kind the function
     * @param negativeSlope the slope for x &lt; 0 of {@link Kind#LEAKY_RELU}; 0 for the others
     */
    public record HiddenActivation(Kind kind, double negativeSlope) {
        /** The functions a head may use, as PyTorch defines them. */
        public enum Kind {
            /** max(x, 0) */
            RELU,
            /** x ≥ 0 ? x : negative_slope·x */
            LEAKY_RELU,
            /** 1 / (1 + e^-x) */
            SIGMOID,
            /** tanh(x) */
            TANH
        }

        /** ReLU, the version-1 activation. */
        public static final HiddenActivation RELU = new HiddenActivation(Kind.RELU, 0);

        /** @return the name used in the config */
        public String configName() {
            return kind.name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /**
     * An MLP block list: for each hidden width, Linear → [BatchNorm1d] → activation, then (for towers)
     * a final Linear to one logit.
     *
     * @param hidden hidden widths
     * @param bn whether each hidden Linear is followed by BatchNorm1d
     * @param bias whether the final Linear has a bias
     */
    public record Mlp(int[] hidden, boolean bn, boolean bias) {}

    /**
     * A PLE gate: hidden Linear → [BatchNorm1d] → activation layers, then Linear to expert logits, optional
     * BN, softmax.
     *
     * @param hidden hidden widths
     * @param bias whether the logit Linear has a bias
     * @param bn whether BatchNorm1d sits between the logits and softmax
     * @param hiddenBn whether each hidden Linear is followed by BatchNorm1d (format version 2)
     */
    public record Gate(int[] hidden, boolean bias, boolean bn, boolean hiddenBn) {}

    /** A network head. */
    public sealed interface Head permits Ple, MlpHead {}

    /**
     * Progressive Layered Extraction (Tang et al. 2020).
     *
     * @param levels number of CGC levels
     * @param taskExperts experts per task per level
     * @param sharedExperts shared experts per level
     * @param expertHidden expert MLP widths of each level, {@code expertHidden[level][layer]} (all layers
     *     Linear → [BN] → activation); version-1 files have the same widths at every level
     * @param expertBn whether expert Linears are followed by BatchNorm1d
     * @param gate gate form
     * @param tower tower form
     * @param activation the activation of every hidden layer (experts, gate hidden layers, towers)
     */
    public record Ple(
            int levels, int taskExperts, int sharedExperts, int[][] expertHidden, boolean expertBn, Gate gate, Mlp tower,
            HiddenActivation activation)
            implements Head {
        /** @return the width of the experts' output at the last level, which the towers read */
        public int expertWidth() {
            return expertWidth(levels - 1);
        }

        /** @return the width of the experts' output at {@code level} */
        public int expertWidth(int level) {
            int[] w = expertHidden[level];
            return w[w.length - 1];
        }

        /** @return whether every level has the same expert widths (always so in format version 1) */
        public boolean uniformExperts() {
            for (int[] w : expertHidden) {
                if (!java.util.Arrays.equals(w, expertHidden[0])) {
                    return false;
                }
            }
            return true;
        }
    }

    /**
     * Single-task head: an MLP to one logit.
     *
     * @param mlp the MLP
     * @param activation the activation of its hidden layers
     */
    public record MlpHead(Mlp mlp, HiddenActivation activation) implements Head {}

    /** @return index of a task by name, or -1 */
    public int taskIndex(String task) {
        for (int i = 0; i < tasks.size(); i++) {
            if (tasks.get(i).name().equals(task)) {
                return i;
            }
        }
        return -1;
    }
}
