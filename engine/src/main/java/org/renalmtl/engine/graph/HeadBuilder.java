package org.renalmtl.engine.graph;

import java.util.Arrays;
import java.util.Map;
import org.renalmtl.weights.ModelConfig;
import org.renalmtl.weights.Tensor;

/**
 * Emits a network's head (FORMAT.md, "Heads"; ENGINEERING.md §1) into a graph: PLE levels of experts
 * and gates, then one tower per task, or a single-task MLP. Hidden Linears carry the head's activation
 * (ReLU, leaky ReLU, sigmoid or tanh), or leave it to the BatchNorm1d node that follows them; a gate's
 * logits feed a {@link Op.GateMix} over the experts it mixes; each tower's last Linear applies the
 * sigmoid, so its output is the probability.
 */
final class HeadBuilder {
    private final Graph.Builder b;
    private final Map<String, Tensor> tensors;
    private final Activation act; // of every hidden layer of this head

    private HeadBuilder(Graph.Builder b, Map<String, Tensor> tensors, Activation act) {
        this.b = b;
        this.tensors = tensors;
        this.act = act;
    }

    /**
     * @param b the graph being built
     * @param net the network whose head this is (its prefix, tasks and head config)
     * @param tensors weights by name
     * @param features the fused features (N, fused)
     * @return the probabilities (N, tasks of the network), column t for {@code net.tasks().get(t)}
     */
    static int build(Graph.Builder b, ModelConfig.Network net, Map<String, Tensor> tensors, int features) {
        String p = net.prefix() + "head.";
        return switch (net.head()) {
            case ModelConfig.MlpHead mh -> new HeadBuilder(b, tensors, activation(mh.activation())).tower(p, mh.mlp(),
                    features);
            case ModelConfig.Ple ple -> new HeadBuilder(b, tensors, activation(ple.activation())).ple(p, ple,
                    net.tasks().size(), features);
        };
    }

    /** @return the graph's activation for a config's (PyTorch's float negative slope, as it computes in float32) */
    static Activation activation(ModelConfig.HiddenActivation a) {
        return switch (a.kind()) {
            case RELU -> Activation.RELU;
            case LEAKY_RELU -> Activation.leakyRelu((float) a.negativeSlope());
            case SIGMOID -> Activation.SIGMOID;
            case TANH -> Activation.TANH;
        };
    }

    /**
     * The CGC levels as the PyTorch model runs them ({@code PLEHead} in weights/export/renal_mtl/heads.py):
     * level 0 feeds the features to everything; at a later level task t's experts and gate read task t's
     * output of the level before, the shared experts and gate the shared output. A task gate mixes its task's experts then the shared
     * ones; the shared gate (every level but the last) mixes all experts, task 0's first.
     */
    private int ple(String p, ModelConfig.Ple ple, int tasks, int features) {
        int m = ple.taskExperts();
        int s = ple.sharedExperts();
        int[] taskIn = new int[tasks];
        Arrays.fill(taskIn, features);
        int sharedIn = features;
        for (int j = 0; j < ple.levels(); j++) {
            String lp = p + "levels." + j + ".";
            int[] experts = new int[tasks * m + s];
            for (int t = 0; t < tasks; t++) {
                for (int e = 0; e < m; e++) {
                    experts[t * m + e] = expert(lp + "task_experts." + t + "." + e + ".", ple, j, taskIn[t]);
                }
            }
            for (int e = 0; e < s; e++) {
                experts[tasks * m + e] = expert(lp + "shared_experts." + e + ".", ple, j, sharedIn);
            }
            int[] taskOut = new int[tasks];
            for (int t = 0; t < tasks; t++) {
                int[] mix = new int[1 + m + s];
                mix[0] = gate(lp + "task_gates." + t + ".", ple.gate(), taskIn[t]);
                System.arraycopy(experts, t * m, mix, 1, m);
                System.arraycopy(experts, tasks * m, mix, 1 + m, s);
                taskOut[t] = b.add(lp + "task_outputs." + t, new Op.GateMix(), mix);
            }
            if (j < ple.levels() - 1) {
                int[] mix = new int[1 + experts.length];
                mix[0] = gate(lp + "shared_gate.", ple.gate(), sharedIn);
                System.arraycopy(experts, 0, mix, 1, experts.length);
                sharedIn = b.add(lp + "shared_output", new Op.GateMix(), mix);
            }
            taskIn = taskOut;
        }
        int[] probabilities = new int[tasks];
        for (int t = 0; t < tasks; t++) {
            probabilities[t] = tower(p + "towers." + t + ".", ple.tower(), taskIn[t]);
        }
        // Concat needs two inputs; a single task's tower output is the (N, 1) result as it is.
        return tasks == 1 ? probabilities[0] : b.add(p + "probabilities", new Op.Concat(), probabilities);
    }

    private int expert(String p, ModelConfig.Ple ple, int level, int x) {
        return hidden(p, "layers.", ple.expertHidden()[level].length, ple.expertBn() ? "norms." : null, x);
    }

    /** Hidden Linear → [BatchNorm1d] → activation layers, logit Linear (bias iff {@code gate.bias}), optional BatchNorm1d. */
    private int gate(String p, ModelConfig.Gate gate, int x) {
        x = hidden(p, "hidden.", gate.hidden().length, gate.hiddenBn() ? "norms." : null, x);
        x = linear(p + "out", gate.bias(), Activation.NONE, x);
        return gate.bn() ? ClassifierGraphs.batchNorm(b, tensors, p + "norm", Activation.NONE, x) : x;
    }

    /** Hidden layers, then the Linear to one logit (bias iff {@code mlp.bias}) with the sigmoid. */
    private int tower(String p, ModelConfig.Mlp mlp, int x) {
        x = hidden(p, "hidden.", mlp.hidden().length, mlp.bn() ? "norms." : null, x);
        return linear(p + "out", mlp.bias(), Activation.SIGMOID, x);
    }

    /**
     * {@code count} layers Linear {@code p+layers+i} (with bias) → [BatchNorm1d {@code p+norms+i}] → activation;
     * with BatchNorm the activation is the BatchNorm's, so that the Linear's output is what the norm reads.
     *
     * @param norms the BatchNorm module name stem, or null for none
     */
    private int hidden(String p, String layers, int count, String norms, int x) {
        for (int i = 0; i < count; i++) {
            x = linear(p + layers + i, true, norms == null ? act : Activation.NONE, x);
            if (norms != null) {
                x = ClassifierGraphs.batchNorm(b, tensors, p + norms + i, act, x);
            }
        }
        return x;
    }

    private int linear(String module, boolean bias, Activation act, int x) {
        String w = ClassifierGraphs.constant(b, tensors, module + ".weight");
        String bs = bias ? ClassifierGraphs.constant(b, tensors, module + ".bias") : null;
        return b.add(module, new Op.Linear(w, bs, act), x);
    }
}
