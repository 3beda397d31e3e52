package org.renalmtl.cli;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.renalmtl.engine.graph.ClassifierGraphs;
import org.renalmtl.engine.graph.Macs;
import org.renalmtl.weights.ModelConfig;
import org.renalmtl.weights.Tensor;
import org.renalmtl.weights.TensorLayout;
import org.renalmtl.weights.WeightFile;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code renal-mtl inspect MODEL.h5}: architecture, parameters, FLOPs per case, tensors. */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = "Check a weight file and show its architecture, parameter count and FLOPs per case.")
final class InspectCommand implements Callable<Integer> {
    @Parameters(paramLabel = "MODEL.h5", description = "Weight file (weights/FORMAT.md).")
    Path model;

    @Option(names = "--tensors", description = "Also list every tensor with its shape.")
    boolean tensors;

    @Mixin
    DeviceOption device;

    @Override
    public Integer call() {
        device.parse();
        try (WeightFile wf = WeightFile.load(model)) {
            ModelConfig c = wf.config();
            var out = System.out;
            out.printf("%s: %s (format v%d, %s)%n", model, c.name(), c.formatVersion(), c.producer());
            out.printf("phases: %s; input %s voxels at %s mm, margin %.1f mm%n", String.join(", ", c.phases()),
                    Arrays.toString(c.input().size()), Arrays.toString(c.input().spacingMm()), c.input().marginMm());
            out.printf("preprocessing: HU window [%.0f, %.0f], %s (mean %.1f, std %.1f)%n", c.preprocessing().huLow(),
                    c.preprocessing().huHigh(), c.preprocessing().normalisation(), c.preprocessing().mean(),
                    c.preprocessing().std());
            for (ModelConfig.Task t : c.tasks()) {
                out.printf("task %-8s positive = %s; negative = %s; threshold %.2f%n", t.name(), t.positive(),
                        t.negative(), t.threshold());
            }
            long stored = TensorLayout.parameterCount(c);
            // BatchNorm running statistics are buffers, not parameters (PyTorch's parameters() and the 33.16 M
            // quoted for the 3D ResNet-18 backbone leave them out); they are stored and counted separately.
            long bnStats = parameters(wf, "", true);
            long params = stored - bnStats;
            double flops = 0;
            int[] size = c.input().size();
            for (ModelConfig.Network n : c.networks()) {
                ModelConfig.Backbone b = n.backbone();
                // One case through the network as the engine runs it: every phase's backbone pass and the head.
                double netFlops = 2.0 * Macs.of(ClassifierGraphs.build(c, n, wf.tensors(), 1, size));
                flops += netFlops;
                out.printf("network %s (prefix '%s'): tasks %s%n", n.name(), n.prefix(), n.tasks());
                out.printf("  backbone: 3D ResNet-%d (%s), widths %s, stem %s/%s%s, strides %s, dilations %s, shortcut %s%n",
                        b.depth(), b.flavour().isEmpty() ? "custom" : b.flavour(), Arrays.toString(b.widths()),
                        Arrays.toString(b.stem().kernel()), Arrays.toString(b.stem().stride()),
                        b.stem().maxPool() ? " + max-pool" : "", Arrays.toString(b.strides()),
                        Arrays.toString(b.dilations()), b.shortcut());
                long backboneParams = 0;
                for (int p = 0; p < (n.fusion() == ModelConfig.Fusion.SEPARATE ? c.phases().size() : 1); p++) {
                    backboneParams += parameters(wf, TensorLayout.backbonePrefix(n, p), false);
                }
                out.printf("  backbone parameters: %,d (%.2f M); head parameters: %,d%n", backboneParams,
                        backboneParams / 1e6, parameters(wf, n.prefix() + "head.", false));
                out.printf("  fusion: %s -> %d features%n", n.fusion().name().toLowerCase(Locale.ROOT),
                        n.fusedFeatures(c.phases().size()));
                switch (n.head()) {
                    case ModelConfig.Ple p -> out.printf(
                            "  head: PLE, %d level(s), %d task + %d shared experts %s%s, gate hidden %s%s%s%s, tower %s%s%n",
                            p.levels(), p.taskExperts(), p.sharedExperts(), p.uniformExperts()
                                    ? Arrays.toString(p.expertHidden()[0]) : Arrays.deepToString(p.expertHidden()),
                            p.expertBn() ? " with BN" : "", Arrays.toString(p.gate().hidden()),
                            p.gate().hiddenBn() ? " with BN" : "", p.gate().bias() ? "" : " (no bias)",
                            p.gate().bn() ? " + BN" : "", Arrays.toString(p.tower().hidden()), activation(p.activation()));
                    case ModelConfig.MlpHead m -> out.printf("  head: MLP %s -> 1%s%n", Arrays.toString(m.mlp().hidden()),
                            activation(m.activation()));
                }
                out.printf("  %.2f GFLOP per case%n", netFlops / 1e9);
            }
            out.printf("parameters: %,d (%.2f M) + %,d BatchNorm running statistics (%.1f MiB fp32 in all)%n", params,
                    params / 1e6, bnStats, stored * 4 / 1048576.0);
            out.printf("FLOPs per case: %.2f GFLOP (multiply-add = 2)%n", flops / 1e9);
            if (tensors) {
                for (Map.Entry<String, Tensor> e : wf.tensors().entrySet()) {
                    out.printf("  %-70s %s%n", e.getKey(), Arrays.toString(e.getValue().shape()));
                }
            }
        }
        return 0;
    }

    /** @return "" for ReLU (every version-1 head), else the hidden activation as the config names it */
    private static String activation(ModelConfig.HiddenActivation a) {
        return switch (a.kind()) {
            case RELU -> "";
            case LEAKY_RELU -> ", activation leaky_relu(" + a.negativeSlope() + ")";
            default -> ", activation " + a.configName();
        };
    }

    /**
     * @param prefix tensor-name prefix ("" for all)
     * @param runningStats true to count only BatchNorm running statistics, false to count everything else
     * @return the number of values in the matching tensors
     */
    private static long parameters(WeightFile wf, String prefix, boolean runningStats) {
        long n = 0;
        for (Tensor t : wf.tensors().values()) {
            boolean stat = t.name().endsWith(".running_mean") || t.name().endsWith(".running_var");
            if (t.name().startsWith(prefix) && stat == runningStats) {
                n += t.elements();
            }
        }
        return n;
    }
}
