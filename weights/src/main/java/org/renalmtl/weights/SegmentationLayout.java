package org.renalmtl.weights;

import java.util.LinkedHashMap;
import java.util.Map;
import org.renalmtl.weights.SegmentationConfig.Network;

/**
 * The tensors a segmentation config implies: the network's alias-free {@code state_dict} keys
 * (dynamic-network-architectures' module paths) with their PyTorch shapes, in forward order, and only
 * the last {@code decoder.seg_layers} (FORMAT.md, "Segmentation models"). The reader checks a file
 * against this list and the graph builder reads weights by these names, so both agree by construction.
 *
 * <p>Module paths: a conv block ({@code ConvDropoutNormReLU}) {@code B} holds {@code B.conv.weight}
 * (Cout, Cin, k…), {@code B.conv.bias} (Cout) when {@code conv_bias}, and {@code B.norm.weight},
 * {@code B.norm.bias} (Cout) when the norm is affine. PlainConvUNet stage s, conv c:
 * {@code encoder.stages.s.0.convs.c}. ResidualEncoderUNet: {@code encoder.stem.convs.0}, then
 * {@code encoder.stages.s.blocks.b.conv1}/{@code .conv2}, and on a block whose channels change the skip
 * projection {@code encoder.stages.s.blocks.b.skip.i} (i = 1 after an AvgPool3d when the block strides,
 * else 0; 1×1×1, never a bias). Decoder stage i (from the deepest): {@code decoder.transpconvs.i}
 * (weight (Cin, Cout, s…), bias when {@code conv_bias}), {@code decoder.stages.i.convs.c}; then
 * {@code decoder.seg_layers.(S-2)} (weight (classes, F0, 1, 1, 1), bias).
 */
public final class SegmentationLayout {
    private SegmentationLayout() {}

    /** @return name → shape of every tensor, in forward order */
    public static Map<String, long[]> expected(SegmentationConfig config) {
        Map<String, long[]> out = new LinkedHashMap<>();
        Network n = config.network();
        int[] f = n.featuresPerStage();
        int stages = n.stages();
        int in = n.inputChannels();
        if (n.architecture() == SegmentationConfig.Architecture.PLAIN_CONV_UNET) {
            for (int s = 0; s < stages; s++) {
                for (int c = 0; c < n.nConvPerStage()[s]; c++) {
                    convBlock(out, n, "encoder.stages." + s + ".0.convs." + c, f[s], in, n.kernelSizes()[s]);
                    in = f[s];
                }
            }
        } else {
            convBlock(out, n, "encoder.stem.convs.0", f[0], in, n.kernelSizes()[0]);
            in = f[0];
            for (int s = 0; s < stages; s++) {
                for (int b = 0; b < n.nConvPerStage()[s]; b++) {
                    String block = "encoder.stages." + s + ".blocks." + b;
                    convBlock(out, n, block + ".conv1", f[s], in, n.kernelSizes()[s]);
                    convBlock(out, n, block + ".conv2", f[s], f[s], n.kernelSizes()[s]);
                    if (in != f[s]) {
                        String skip = block + ".skip." + (b == 0 && strides(n.strides()[s]) ? 1 : 0);
                        out.put(skip + ".conv.weight", new long[] {f[s], in, 1, 1, 1});
                        norm(out, n, skip, f[s]);
                    }
                    in = f[s];
                }
            }
        }
        for (int i = 0; i < stages - 1; i++) {
            int below = f[stages - 1 - i];
            int skip = f[stages - 2 - i];
            int[] st = n.strides()[stages - 1 - i];
            out.put("decoder.transpconvs." + i + ".weight", new long[] {below, skip, st[0], st[1], st[2]});
            if (n.convBias()) {
                out.put("decoder.transpconvs." + i + ".bias", new long[] {skip});
            }
            int cin = 2 * skip;
            for (int c = 0; c < n.nConvPerStageDecoder()[i]; c++) {
                convBlock(out, n, "decoder.stages." + i + ".convs." + c, skip, cin, n.kernelSizes()[stages - 2 - i]);
                cin = skip;
            }
        }
        String seg = segLayer(config);
        out.put(seg + ".weight", new long[] {n.numClasses(), f[0], 1, 1, 1});
        out.put(seg + ".bias", new long[] {n.numClasses()});
        return out;
    }

    /** @return the module path of the seg layer used at inference, {@code decoder.seg_layers.(S-2)} */
    public static String segLayer(SegmentationConfig config) {
        return "decoder.seg_layers." + (config.network().stages() - 2);
    }

    /** @return whether a stride moves on any axis */
    public static boolean strides(int[] stride) {
        return stride[0] != 1 || stride[1] != 1 || stride[2] != 1;
    }

    /** @return the number of parameters the config implies (the list is at most a few hundred entries) */
    public static long parameterCount(SegmentationConfig config) {
        long total = 0;
        for (long[] shape : expected(config).values()) {
            total = Math.addExact(total, TensorLayout.elements(shape));
        }
        return total;
    }

    private static void convBlock(Map<String, long[]> out, Network n, String block, int cout, int cin, int[] k) {
        out.put(block + ".conv.weight", new long[] {cout, cin, k[0], k[1], k[2]});
        if (n.convBias()) {
            out.put(block + ".conv.bias", new long[] {cout});
        }
        norm(out, n, block, cout);
    }

    private static void norm(Map<String, long[]> out, Network n, String block, int channels) {
        if (n.normAffine()) {
            out.put(block + ".norm.weight", new long[] {channels});
            out.put(block + ".norm.bias", new long[] {channels});
        }
    }
}
