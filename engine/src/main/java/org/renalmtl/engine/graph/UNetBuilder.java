package org.renalmtl.engine.graph;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Map;
import org.renalmtl.weights.SegmentationConfig;
import org.renalmtl.weights.SegmentationConfig.Network;
import org.renalmtl.weights.SegmentationLayout;
import org.renalmtl.weights.Tensor;

/**
 * Builds the graph of an nnU-Net v2 network (dynamic-network-architectures' {@code PlainConvUNet} or
 * {@code ResidualEncoderUNet}, FORMAT.md "Segmentation models") for a batch of patches: input
 * {@value #INPUT} (N, C, pz, py, px) → output {@value #OUTPUT} (N, num_classes, pz, py, px), the
 * last seg layer only (no deep supervision), in eval mode.
 *
 * <p><b>Node names are PyTorch module paths</b>, so that each node's output equals what a forward hook
 * on that module sees:
 * <ul>
 *   <li>a conv block {@code B} ({@code ConvDropoutNormReLU}) is two nodes: {@code B.conv}, the
 *       {@link Op.Conv3d} (no activation), then {@code B}, the {@link Op.InstanceNorm3d} with the
 *       block's LeakyReLU fused: its output is the block's output;</li>
 *   <li>encoder stage s of a PlainConvUNet ends in block {@code encoder.stages.s.0.convs.(n-1)};
 *       a ResidualEncoderUNet has {@code encoder.stem.convs.0}, then per BasicBlockD {@code R}:
 *       {@code R.conv1.conv}, {@code R.conv1}, {@code R.conv2.conv}, {@code R.conv2} (norm, no
 *       activation), the skip (below), and {@code R}, the {@link Op.Add} with LeakyReLU;</li>
 *   <li>a BasicBlockD skip: identity (no node); a projection {@code R.skip.0.conv} + {@code R.skip.0};
 *       an AvgPool3d alone, {@code R.skip.0}, as a convolution (kernel = stride = s, the identity
 *       over channels divided by s³); AvgPool3d then projection, {@code R.skip.1.conv} (the pool folded
 *       into the 1³ conv: kernel s, weight w / s³ replicated over the window) + {@code R.skip.1}. Their
 *       synthesised weights are named {@code R.skip.1.conv.weight} (the file's tensor), or {@code R.skip.0.weight} for the pool alone, with {@value #POOLED} appended;</li>
 *   <li>decoder stage i: {@code decoder.transpconvs.i} (the {@link Op.ConvTranspose3d}),
 *       {@code decoder.concat.i} ({@code torch.cat((upsampled, skip), 1)}: not a module, the one
 *       name that is not a module path), then its blocks {@code decoder.stages.i.convs.c};</li>
 *   <li>{@code decoder.seg_layers.(S-2)}, the 1³ conv with bias, whose output is {@value #OUTPUT}.</li>
 * </ul>
 * Weights are read by the names of {@link SegmentationLayout}; the graph holds the given tensors
 * (not copies), so their owner keeps them alive while the graph is used.
 */
public final class UNetBuilder {
    /** The graph input's name. */
    public static final String INPUT = "image";
    /** The graph output's name. */
    public static final String OUTPUT = "logits";
    /** Suffix of a weight synthesised from a file's tensor by folding an AvgPool3d into it. */
    public static final String POOLED = ":avgpool";

    private static final Dims3 ONE = Dims3.of(1);
    private static final Dims3 ZERO = Dims3.of(0);

    private final Graph.Builder b = new Graph.Builder();
    private final Map<String, Tensor> tensors;
    private final Network net;
    private final Activation act;
    private final float eps;

    private UNetBuilder(SegmentationConfig config, Map<String, Tensor> tensors) {
        this.tensors = tensors;
        this.net = config.network();
        this.act = Activation.leakyRelu((float) net.negativeSlope());
        this.eps = (float) net.normEps();
    }

    /**
     * The graph at the config's patch size.
     *
     * @param config the checked config
     * @param tensors the weights by name ({@code SegmentationFile.tensors()})
     * @param batch patches per run, ≥ 1
     * @return the graph
     * @throws IllegalArgumentException if a tensor is missing or misshaped (the message names it)
     */
    public static Graph build(SegmentationConfig config, Map<String, Tensor> tensors, int batch) {
        return build(config, tensors, batch, config.patchSize());
    }

    /**
     * The graph at another patch size (a multiple of the strides' product on every axis).
     *
     * @param patch (pz, py, px)
     * @throws IllegalArgumentException if the patch does not fit the strides, or a tensor is missing
     *     or misshaped
     */
    public static Graph build(SegmentationConfig config, Map<String, Tensor> tensors, int batch, int[] patch) {
        int[] total = config.network().totalStride();
        if (batch < 1 || patch.length != 3) {
            throw new IllegalArgumentException("batch " + batch + ", patch " + Arrays.toString(patch));
        }
        for (int a = 0; a < 3; a++) {
            if (patch[a] < 1 || patch[a] % total[a] != 0) {
                throw new IllegalArgumentException("patch " + Arrays.toString(patch)
                        + " is not a positive multiple of the strides' product " + Arrays.toString(total));
            }
        }
        return new UNetBuilder(config, tensors).emit(config, batch, patch);
    }

    private Graph emit(SegmentationConfig config, int batch, int[] patch) {
        int x = b.input(INPUT, batch, net.inputChannels(), patch[0], patch[1], patch[2]);
        int stages = net.stages();
        int[] skips = new int[stages];
        if (net.architecture() == SegmentationConfig.Architecture.PLAIN_CONV_UNET) {
            for (int s = 0; s < stages; s++) {
                for (int c = 0; c < net.nConvPerStage()[s]; c++) {
                    x = convBlock("encoder.stages." + s + ".0.convs." + c, x, c == 0 ? net.strides()[s] : null,
                            net.kernelSizes()[s], act);
                }
                skips[s] = x;
            }
        } else {
            x = convBlock("encoder.stem.convs.0", x, null, net.kernelSizes()[0], act);
            for (int s = 0; s < stages; s++) {
                for (int r = 0; r < net.nConvPerStage()[s]; r++) {
                    x = basicBlock("encoder.stages." + s + ".blocks." + r, x, r == 0 ? net.strides()[s] : new int[] {1, 1, 1},
                            net.kernelSizes()[s], net.featuresPerStage()[s]);
                }
                skips[s] = x;
            }
        }
        for (int i = 0; i < stages - 1; i++) {
            String t = "decoder.transpconvs." + i;
            Dims3 st = Dims3.of(net.strides()[stages - 1 - i]);
            int up = b.add(t, new Op.ConvTranspose3d(constant(t + ".weight"), net.convBias() ? constant(t + ".bias") : null,
                    st, ZERO, ZERO, Activation.NONE), x);
            x = b.add("decoder.concat." + i, new Op.Concat(), up, skips[stages - 2 - i]);
            for (int c = 0; c < net.nConvPerStageDecoder()[i]; c++) {
                x = convBlock("decoder.stages." + i + ".convs." + c, x, null, net.kernelSizes()[stages - 2 - i], act);
            }
        }
        String seg = SegmentationLayout.segLayer(config);
        int y = b.add(seg, new Op.Conv3d(constant(seg + ".weight"), constant(seg + ".bias"), ONE, ZERO, ONE, false,
                Activation.NONE), x);
        return b.output(OUTPUT, y).build();
    }

    /** Conv (same padding, optional stride) then InstanceNorm3d with {@code activation}: nodes {@code B.conv}, {@code B}. */
    private int convBlock(String block, int x, int[] stride, int[] kernel, Activation activation) {
        Dims3 pad = Dims3.of(new int[] {(kernel[0] - 1) / 2, (kernel[1] - 1) / 2, (kernel[2] - 1) / 2});
        Op.Conv3d conv = new Op.Conv3d(constant(block + ".conv.weight"),
                net.convBias() ? constant(block + ".conv.bias") : null, stride == null ? ONE : Dims3.of(stride), pad, ONE,
                false, Activation.NONE);
        return norm(block, b.add(block + ".conv", conv, x), activation);
    }

    private int norm(String block, int x, Activation activation) {
        boolean affine = net.normAffine();
        return b.add(block, new Op.InstanceNorm3d(affine ? constant(block + ".norm.weight") : null,
                affine ? constant(block + ".norm.bias") : null, eps, activation), x);
    }

    /** BasicBlockD: conv1 (strided) + norm + LeakyReLU, conv2 + norm, plus the skip, then LeakyReLU. */
    private int basicBlock(String block, int x, int[] stride, int[] kernel, int features) {
        long in = b.shape(x)[1];
        boolean strided = SegmentationLayout.strides(stride);
        // The skip comes first, as in ResNetBuilder: a backend may write the sum over it.
        int skip = x;
        if (in != features) {
            String p = block + ".skip." + (strided ? 1 : 0);
            String w = p + ".conv.weight";
            Dims3 st = Dims3.of(stride);
            if (strided) {
                w = poolIntoConv(w, constant(w), stride);
            } else {
                constant(w);
            }
            skip = norm(p, b.add(p + ".conv", new Op.Conv3d(w, null, st, ZERO, ONE, false, Activation.NONE), x),
                    Activation.NONE);
        } else if (strided) {
            String w = poolAlone(block + ".skip.0.weight", (int) in, stride);
            skip = b.add(block + ".skip.0", new Op.Conv3d(w, null, Dims3.of(stride), ZERO, ONE, false, Activation.NONE), x);
        }
        int y = convBlock(block + ".conv1", x, stride, kernel, act);
        y = convBlock(block + ".conv2", y, null, kernel, Activation.NONE);
        return b.add(block, new Op.Add(act), y, skip);
    }

    /**
     * AvgPool3d(kernel = stride = s) then a 1³ conv w equals one conv of kernel s, stride s, whose weight
     * is w / (s_z·s_y·s_x) at every position of the window: a synthesised constant.
     */
    private String poolIntoConv(String name, String source, int[] s) {
        Tensor w = b.constantNamed(source);
        long[] shape = w.shape(); // (Cout, Cin, 1, 1, 1)
        int window = s[0] * s[1] * s[2];
        long pairs = shape[0] * shape[1];
        MemorySegment data = Arena.ofAuto().allocate(pairs * window * Float.BYTES, 64);
        for (long i = 0; i < pairs; i++) {
            float v = w.get(i) / window;
            for (int k = 0; k < window; k++) {
                data.setAtIndex(ValueLayout.JAVA_FLOAT, i * window + k, v);
            }
        }
        String pooled = name + POOLED;
        b.constant(new Tensor(pooled, new long[] {shape[0], shape[1], s[0], s[1], s[2]}, data));
        return pooled;
    }

    /** AvgPool3d(kernel = stride = s) over C channels as a conv: the identity over channels, divided by s³. */
    private String poolAlone(String name, int channels, int[] s) {
        int window = s[0] * s[1] * s[2];
        MemorySegment data = Arena.ofAuto().allocate((long) channels * channels * window * Float.BYTES, 64); // zeroed
        for (long c = 0; c < channels; c++) {
            for (int k = 0; k < window; k++) {
                data.setAtIndex(ValueLayout.JAVA_FLOAT, (c * channels + c) * window + k, 1f / window);
            }
        }
        String pooled = name + POOLED;
        b.constant(new Tensor(pooled, new long[] {channels, channels, s[0], s[1], s[2]}, data));
        return pooled;
    }

    private String constant(String name) {
        return ClassifierGraphs.constant(b, tensors, name);
    }
}
