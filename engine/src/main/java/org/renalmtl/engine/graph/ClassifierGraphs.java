package org.renalmtl.engine.graph;

import java.util.Map;
import org.renalmtl.weights.ModelConfig;
import org.renalmtl.weights.Tensor;
import org.renalmtl.weights.TensorLayout;

/**
 * One classifier network of a model (backbone(s), phase fusion, head) as a {@link Graph}, exactly as
 * the checkpoint has it: every conv without bias is followed by its BatchNorm node, which carries the
 * activation; a residual block ends in an {@link Op.Add} of the block's output and its shortcut; the
 * head's Linears are followed by their BatchNorm1d nodes where the config has them. Nothing is folded
 * or fused here: {@link FoldBatchNorm} and {@link FuseResidual} do that, so that each rewrite is
 * checked on its own and a backend that has a BatchNorm or an add can run the graph as built.
 *
 * <p>The graph has one input, {@value #INPUT}: (N, P, D, H, W), the P phases of N cases as the model
 * takes them. Its outputs are:
 * <ul>
 *   <li>{@value #PROBABILITIES}: (N, T), the probability of the network's task t in column t, tasks in
 *       {@link ModelConfig.Network#tasks()} order (a model maps them to its own task order by name, as
 *       several networks share one output row). One output rather than one per task: output names
 *       then never depend on task names, which are free text and could be anything, "features"
 *       included;</li>
 *   <li>{@value #FEATURES}: (N, fused), the features that enter the head, for the engine's
 *       finiteness check and for callers that read them.</li>
 * </ul>
 *
 * <p>Node names are the PyTorch module paths of the tensors they read ({@code backbone.layer1.0.conv1},
 * {@code head.levels.0.task_gates.1.out}); nodes without a module get a name beside their module's
 * ({@code backbone.layer1.0.add}, {@code head.levels.0.task_outputs.1}).
 */
public final class ClassifierGraphs {
    /** The graph input: (N, P, D, H, W). */
    public static final String INPUT = "input";
    /** The output of the fused features: (N, fused). */
    public static final String FEATURES = "features";
    /** The output of the probabilities: (N, tasks of the network). */
    public static final String PROBABILITIES = "probabilities";
    /** BatchNorm's epsilon in every checkpoint we read (PyTorch's default; FORMAT.md). */
    public static final float BN_EPS = 1e-5f;

    private ClassifierGraphs() {}

    /**
     * Builds network {@code net} of {@code config} for {@code cases} cases of one input size.
     *
     * @param config the model config (its phases decide P)
     * @param net one of its networks
     * @param tensors weights by name, as {@link TensorLayout#expected} names them; the graph's constants
     *     are these tensors themselves, so their memory must outlive the graph
     * @param cases N, cases per forward
     * @param size (D, H, W) of one phase
     * @return the graph, inputs and outputs as described above
     * @throws org.renalmtl.engine.ModelRunException if the input is too small for the network's strides
     * @throws IllegalArgumentException if a tensor is missing or its shape does not fit the config
     */
    public static Graph build(ModelConfig config, ModelConfig.Network net, Map<String, Tensor> tensors, int cases,
            int[] size) {
        if (cases < 1 || size.length != 3) {
            throw new IllegalArgumentException("need at least one case and a (D, H, W) size");
        }
        int phases = config.phases().size();
        Graph.Builder b = new Graph.Builder();
        int input = b.input(INPUT, cases, phases, size[0], size[1], size[2]);
        String fused = net.prefix() + FEATURES;
        int features = switch (net.fusion()) {
            case BATCH -> {
                // Case n's phase p becomes sample n·P + p: the same elements, so a reshape, not a copy.
                long[] samples = {(long) cases * phases, 1, size[0], size[1], size[2]};
                int batch = b.add(net.prefix() + "phases_as_batch", new Op.Reshape(samples), input);
                int f = ResNetBuilder.build(b, net.backbone(), TensorLayout.backbonePrefix(net, 0), tensors, batch);
                // Sample n·P + p's features land in row n at columns p·F: the phases' features side by side.
                yield b.add(fused, new Op.Reshape(new long[] {cases, (long) phases * b.shape(f)[1]}), f);
            }
            case CHANNELS -> ResNetBuilder.build(b, net.backbone(), TensorLayout.backbonePrefix(net, 0), tensors,
                    input);
            case SEPARATE -> {
                int[] perPhase = new int[phases];
                for (int p = 0; p < phases; p++) {
                    String prefix = TensorLayout.backbonePrefix(net, p);
                    int phase = b.add(prefix + INPUT, new Op.Slice(1, p, 1), input);
                    perPhase[p] = ResNetBuilder.build(b, net.backbone(), prefix, tensors, phase);
                }
                // Concat needs two inputs; one phase's features are the fused features as they are.
                yield phases == 1 ? perPhase[0] : b.add(fused, new Op.Concat(), perPhase);
            }
        };
        b.output(FEATURES, features);
        b.output(PROBABILITIES, HeadBuilder.build(b, net, tensors, features));
        return b.build();
    }

    /**
     * Adds tensor {@code name} to the graph's constants.
     *
     * @return the name, for the op that reads it
     * @throws IllegalArgumentException if {@code tensors} has no such tensor
     */
    static String constant(Graph.Builder b, Map<String, Tensor> tensors, String name) {
        Tensor t = tensors.get(name);
        if (t == null) {
            throw new IllegalArgumentException("the weights have no tensor '" + name + "'");
        }
        b.constant(t);
        return name;
    }

    /**
     * A BatchNorm node reading {@code x}, with the four tensors under module path {@code module}.
     *
     * @return its output value
     */
    static int batchNorm(Graph.Builder b, Map<String, Tensor> tensors, String module, Activation act, int x) {
        String[] parts = new String[TensorLayout.BN_PARTS.length];
        for (int i = 0; i < parts.length; i++) {
            parts[i] = constant(b, tensors, module + "." + TensorLayout.BN_PARTS[i]);
        }
        return b.add(module, new Op.BatchNorm(parts[0], parts[1], parts[2], parts[3], BN_EPS, act), x);
    }
}
