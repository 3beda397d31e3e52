package org.renalmtl.weights;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The tensors a config implies: every name with its PyTorch shape, in network order (FORMAT.md).
 * The reader checks a file against this list, the engine reads weights by these names, and the
 * seeded initialiser fills exactly these, so all three agree by construction.
 */
public final class TensorLayout {
    private TensorLayout() {}

    /** BatchNorm parameter suffixes, in state_dict order. */
    public static final String[] BN_PARTS = {"weight", "bias", "running_mean", "running_var"};

    /** @return name → shape for every tensor of the model, in a stable order */
    public static Map<String, long[]> expected(ModelConfig config) {
        Map<String, long[]> out = new LinkedHashMap<>();
        for (ModelConfig.Network net : config.networks()) {
            if (net.fusion() == ModelConfig.Fusion.SEPARATE) {
                for (int p = 0; p < config.phases().size(); p++) {
                    backbone(out, backbonePrefix(net, p), net.backbone());
                }
            } else {
                backbone(out, backbonePrefix(net, 0), net.backbone());
            }
            head(out, net.prefix() + "head.", net, config.phases().size());
        }
        return out;
    }

    /** @return the tensor prefix of the backbone that reads phase {@code phase} */
    public static String backbonePrefix(ModelConfig.Network net, int phase) {
        return net.fusion() == ModelConfig.Fusion.SEPARATE
                ? net.prefix() + "backbones." + phase + "."
                : net.prefix() + "backbone.";
    }

    private static void backbone(Map<String, long[]> out, String p, ModelConfig.Backbone b) {
        int[] k = b.stem().kernel();
        int inplanes = b.widths()[0];
        out.put(p + "conv1.weight", new long[] {inplanes, b.inChannels(), k[0], k[1], k[2]});
        bn(out, p + "bn1.", inplanes);
        int[] blocks = b.blocks();
        int exp = b.expansion();
        for (int s = 0; s < 4; s++) {
            int planes = b.widths()[s];
            for (int i = 0; i < blocks[s]; i++) {
                String bp = p + "layer" + (s + 1) + "." + i + ".";
                int stride = i == 0 ? b.strides()[s] : 1;
                if (b.bottleneck()) {
                    out.put(bp + "conv1.weight", new long[] {planes, inplanes, 1, 1, 1});
                    bn(out, bp + "bn1.", planes);
                    out.put(bp + "conv2.weight", new long[] {planes, planes, 3, 3, 3});
                    bn(out, bp + "bn2.", planes);
                    out.put(bp + "conv3.weight", new long[] {planes * exp, planes, 1, 1, 1});
                    bn(out, bp + "bn3.", planes * exp);
                } else {
                    out.put(bp + "conv1.weight", new long[] {planes, inplanes, 3, 3, 3});
                    bn(out, bp + "bn1.", planes);
                    out.put(bp + "conv2.weight", new long[] {planes, planes, 3, 3, 3});
                    bn(out, bp + "bn2.", planes);
                }
                if (i == 0 && needsDownsample(stride, inplanes, planes * exp) && b.shortcut() == ModelConfig.Shortcut.B) {
                    out.put(bp + "downsample.0.weight", new long[] {planes * exp, inplanes, 1, 1, 1});
                    if (b.downsampleBias()) {
                        out.put(bp + "downsample.0.bias", new long[] {planes * exp});
                    }
                    bn(out, bp + "downsample.1.", planes * exp);
                }
                inplanes = planes * exp;
            }
        }
    }

    /** @return whether a block's shortcut must change shape (PyTorch ResNets' condition) */
    public static boolean needsDownsample(int stride, int inplanes, int outplanes) {
        return stride != 1 || inplanes != outplanes;
    }

    private static void head(Map<String, long[]> out, String p, ModelConfig.Network net, int phases) {
        int in = net.fusedFeatures(phases);
        switch (net.head()) {
            case ModelConfig.Ple ple -> {
                int tasks = net.tasks().size();
                int m = ple.taskExperts();
                int s = ple.sharedExperts();
                int lin = in;
                for (int j = 0; j < ple.levels(); j++) {
                    String lp = p + "levels." + j + ".";
                    int[] widths = ple.expertHidden()[j];
                    for (int t = 0; t < tasks; t++) {
                        for (int e = 0; e < m; e++) {
                            mlpLayers(out, lp + "task_experts." + t + "." + e + ".", lin, widths, ple.expertBn(), "layers.",
                                    "norms.");
                        }
                        gate(out, lp + "task_gates." + t + ".", lin, m + s, ple.gate());
                    }
                    for (int e = 0; e < s; e++) {
                        mlpLayers(out, lp + "shared_experts." + e + ".", lin, widths, ple.expertBn(), "layers.", "norms.");
                    }
                    if (j < ple.levels() - 1) {
                        gate(out, lp + "shared_gate.", lin, tasks * m + s, ple.gate());
                    }
                    lin = ple.expertWidth(j);
                }
                for (int t = 0; t < tasks; t++) {
                    tower(out, p + "towers." + t + ".", lin, ple.tower());
                }
            }
            case ModelConfig.MlpHead mh -> tower(out, p, in, mh.mlp());
        }
    }

    private static int mlpLayers(
            Map<String, long[]> out, String p, int in, int[] hidden, boolean bn, String layers, String norms) {
        for (int i = 0; i < hidden.length; i++) {
            out.put(p + layers + i + ".weight", new long[] {hidden[i], in});
            out.put(p + layers + i + ".bias", new long[] {hidden[i]});
            if (bn) {
                bn(out, p + norms + i + ".", hidden[i]);
            }
            in = hidden[i];
        }
        return in;
    }

    private static void gate(Map<String, long[]> out, String p, int in, int experts, ModelConfig.Gate g) {
        int last = mlpLayers(out, p, in, g.hidden(), g.hiddenBn(), "hidden.", "norms.");
        out.put(p + "out.weight", new long[] {experts, last});
        if (g.bias()) {
            out.put(p + "out.bias", new long[] {experts});
        }
        if (g.bn()) {
            bn(out, p + "norm.", experts);
        }
    }

    private static void tower(Map<String, long[]> out, String p, int in, ModelConfig.Mlp mlp) {
        int last = mlpLayers(out, p, in, mlp.hidden(), mlp.bn(), "hidden.", "norms.");
        out.put(p + "out.weight", new long[] {1, last});
        if (mlp.bias()) {
            out.put(p + "out.bias", new long[] {1});
        }
    }

    private static void bn(Map<String, long[]> out, String p, int c) {
        for (String part : BN_PARTS) {
            out.put(p + part, new long[] {c});
        }
    }

    /** @return the number of parameters (elements of all tensors) */
    public static long parameterCount(ModelConfig config) {
        long n = 0;
        for (long[] shape : expected(config).values()) {
            n += elements(shape);
        }
        return n;
    }

    /** @return the elements of a tensor of this shape */
    static long elements(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    /**
     * The off-heap bytes {@link WeightFile#load} allocates for this config's tensors: each tensor as
     * float32, 64-byte aligned. For memory planning before a load.
     */
    public static long loadedBytes(ModelConfig config) {
        long bytes = 0;
        for (long[] shape : expected(config).values()) {
            bytes += align(elements(shape) * Float.BYTES);
        }
        return bytes;
    }

    /** @return {@code bytes} rounded up to a multiple of 64 (the alignment of every loaded tensor) */
    static long align(long bytes) {
        return (bytes + 63) & ~63L;
    }
}
