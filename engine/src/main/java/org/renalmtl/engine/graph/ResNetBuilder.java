package org.renalmtl.engine.graph;

import java.util.Arrays;
import java.util.Map;
import org.renalmtl.engine.ModelRunException;
import org.renalmtl.weights.ModelConfig;
import org.renalmtl.weights.Tensor;
import org.renalmtl.weights.TensorLayout;

/**
 * Emits a 3-D ResNet backbone (FORMAT.md, "Backbone"; ENGINEERING.md §1) into a graph as the
 * checkpoint has it: conv (no bias) → BatchNorm (with the ReLU), blocks ending in {@code Add(relu)}
 * of the block output and the shortcut, type-B shortcuts as conv 1³ + BatchNorm, type-A shortcuts as
 * {@link Op.ShortcutA}, then global average pooling to (N, F).
 */
final class ResNetBuilder {
    private static final Dims3 ONE = Dims3.of(1);
    private static final Dims3 ZERO = Dims3.of(0);

    private final Graph.Builder b;
    private final Map<String, Tensor> tensors;
    private final String prefix;

    private ResNetBuilder(Graph.Builder b, Map<String, Tensor> tensors, String prefix) {
        this.b = b;
        this.tensors = tensors;
        this.prefix = prefix;
    }

    /**
     * @param b the graph being built
     * @param cfg the backbone
     * @param prefix its tensor prefix ({@link TensorLayout#backbonePrefix}), also its node names' prefix
     * @param tensors weights by name
     * @param x the input volume (N, C, D, H, W)
     * @return the features (N, F)
     * @throws ModelRunException if the input is too small for the network's strides
     */
    static int build(Graph.Builder b, ModelConfig.Backbone cfg, String prefix, Map<String, Tensor> tensors, int x) {
        return new ResNetBuilder(b, tensors, prefix).emit(cfg, x);
    }

    private int emit(ModelConfig.Backbone cfg, int x) {
        ModelConfig.Stem stem = cfg.stem();
        x = convBn("conv1", null, "bn1", x, Dims3.of(stem.stride()), Dims3.of(stem.padding()), ONE, Activation.RELU);
        if (stem.maxPool()) {
            Op.MaxPool3d pool = new Op.MaxPool3d(Dims3.of(3), Dims3.of(2), Dims3.of(1));
            requireNonEmpty("maxpool", b.shape(x), b.shape(x)[1], new long[] {3, 3, 3}, pool.stride(), pool.padding(),
                    ONE);
            x = b.add(prefix + "maxpool", pool, x);
        }
        int inplanes = cfg.widths()[0];
        for (int s = 0; s < 4; s++) {
            int planes = cfg.widths()[s];
            int out = planes * cfg.expansion();
            Dims3 dil = Dims3.of(cfg.dilations()[s]);
            for (int i = 0; i < cfg.blocks()[s]; i++) {
                String block = "layer" + (s + 1) + "." + i + ".";
                int stride = i == 0 ? cfg.strides()[s] : 1;
                // The shortcut comes first: a backend writes the block's output over it (the residual
                // epilogue), so it must exist before the block's last conv runs.
                int shortcut = x;
                if (TensorLayout.needsDownsample(stride, inplanes, out)) {
                    shortcut = cfg.shortcut() == ModelConfig.Shortcut.B
                            ? convBn(block + "downsample.0", cfg.downsampleBias() ? block + "downsample.0.bias" : null,
                                    block + "downsample.1", x, Dims3.of(stride), ZERO, ONE, Activation.NONE)
                            : b.add(prefix + block + "downsample", new Op.ShortcutA(stride, out), x);
                }
                int y;
                if (cfg.bottleneck()) {
                    y = convBn(block + "conv1", null, block + "bn1", x, ONE, ZERO, ONE, Activation.RELU);
                    y = convBn(block + "conv2", null, block + "bn2", y, Dims3.of(stride), dil, dil, Activation.RELU);
                    y = convBn(block + "conv3", null, block + "bn3", y, ONE, ZERO, ONE, Activation.NONE);
                } else {
                    y = convBn(block + "conv1", null, block + "bn1", x, Dims3.of(stride), dil, dil, Activation.RELU);
                    y = convBn(block + "conv2", null, block + "bn2", y, ONE, dil, dil, Activation.NONE);
                }
                x = b.add(prefix + block + "add", new Op.Add(Activation.RELU), y, shortcut);
                inplanes = out;
            }
        }
        return b.add(prefix + "avgpool", new Op.GlobalAvgPool(), x);
    }

    /**
     * Conv {@code conv} (weight {@code conv.weight}, optional bias) then BatchNorm {@code bn} with the
     * activation, module paths relative to the backbone.
     *
     * @return the BatchNorm's output
     */
    private int convBn(String conv, String bias, String bn, int x, Dims3 stride, Dims3 padding, Dims3 dilation,
            Activation act) {
        String weight = ClassifierGraphs.constant(b, tensors, prefix + conv + ".weight");
        long[] w = b.constantNamed(weight).shape();
        if (w.length == 5) { // otherwise the conv's shape rule names the malformed weight
            requireNonEmpty(conv, b.shape(x), w[0], Arrays.copyOfRange(w, 2, 5), stride, padding, dilation);
        }
        Op.Conv3d op = new Op.Conv3d(weight, bias == null ? null : ClassifierGraphs.constant(b, tensors, prefix + bias),
                stride, padding, dilation, false, Activation.NONE);
        int y = b.add(prefix + conv, op, x);
        return ClassifierGraphs.batchNorm(b, tensors, prefix + bn, act, y);
    }

    /**
     * Refuses a conv or pool whose output would be empty, as a {@link ModelRunException}: a caller's
     * input that is too small is bad input, not a malformed graph (which {@link Graph.Builder} reports).
     * Same rule as the ops' shape rules (PyTorch's floor mode), checked before them.
     *
     * @param in the input's shape (N, C, D, H, W)
     * @param kernel (kd, kh, kw)
     */
    private void requireNonEmpty(String module, long[] in, long channels, long[] kernel, Dims3 stride, Dims3 padding,
            Dims3 dilation) {
        long[] y = {in[0], channels, 0, 0, 0};
        boolean empty = false;
        for (int a = 0; a < 3; a++) {
            long span = dilation.get(a) * (kernel[a] - 1) + 1;
            y[2 + a] = Math.floorDiv(in[2 + a] + 2L * padding.get(a) - span, stride.get(a)) + 1;
            empty |= y[2 + a] < 1;
        }
        if (empty) {
            throw new ModelRunException("input too small for the network's strides: an activation would have shape "
                    + Arrays.toString(y) + " after " + prefix + module);
        }
    }
}
