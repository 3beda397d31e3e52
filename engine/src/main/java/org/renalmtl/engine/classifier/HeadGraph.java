package org.renalmtl.engine.classifier;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.renalmtl.weights.ModelConfig;
import org.renalmtl.weights.Tensor;

/**
 * A network's head (PLE or single-task MLP) with BatchNorm1d folded into the preceding Linear.
 * Backend-independent description; the CPU backend runs it in Java, the GPU one with cuBLAS and
 * our head kernels.
 */
public final class HeadGraph {
    /**
     * {@code y = act(x W^T + b)}.
     *
     * @param in input width
     * @param out output width
     * @param weight folded weights // (out, in)
     * @param bias folded bias, zeros where the Linear had none // (out)
     * @param relu whether ReLU follows
     */
    public record Linear(int in, int out, float[] weight, float[] bias, boolean relu) {}

    /** An MLP: Linear layers applied in order. */
    public record Mlp(List<Linear> layers) {
        /** @return output width */
        public int outWidth() {
            return layers.get(layers.size() - 1).out();
        }
    }

    /**
     * A gate: hidden MLP then logits over {@code selection.length} experts.
     *
     * @param mlp hidden layers + logit layer (no ReLU on the last)
     * @param selection expert indices this gate mixes, into the level's expert list
     */
    public record Gate(Mlp mlp, int[] selection) {}

    /**
     * One CGC level.
     *
     * @param experts all experts of the level: task 0's, task 1's, …, then shared
     * @param taskGates one gate per task
     * @param sharedGate the shared gate, or null on the last level
     * @param taskExperts experts per task
     */
    public record Level(List<Mlp> experts, List<Gate> taskGates, Gate sharedGate, int taskExperts) {}

    private final int inputWidth;
    private final List<Level> levels; // empty for an MLP head
    private final List<Mlp> towers; // one per task; each ends in a 1-wide Linear without ReLU

    private HeadGraph(int inputWidth, List<Level> levels, List<Mlp> towers) {
        this.inputWidth = inputWidth;
        this.levels = levels;
        this.towers = towers;
    }

    /** @return fused feature width entering the head */
    public int inputWidth() {
        return inputWidth;
    }

    /** @return PLE levels (empty for a single-task MLP head) */
    public List<Level> levels() {
        return levels;
    }

    /** @return towers, one per task of the network */
    public List<Mlp> towers() {
        return towers;
    }

    /** @return width of every expert's output (1 for a head without PLE levels) */
    public int expertWidth() {
        return levels.isEmpty() ? 1 : levels.get(0).experts().get(0).outWidth();
    }

    /** @return the most experts in one level (1 for a head without PLE levels) */
    public int maxExperts() {
        int n = 1;
        for (Level l : levels) {
            n = Math.max(n, l.experts().size());
        }
        return n;
    }

    /** @return the widest activation any MLP of the head produces, or its input: sizes scratch rows */
    public int maxWidth() {
        int w = inputWidth;
        for (Level l : levels) {
            for (Mlp m : l.experts()) {
                w = Math.max(w, maxOut(m));
            }
            for (Gate g : l.taskGates()) {
                w = Math.max(w, maxOut(g.mlp()));
            }
            if (l.sharedGate() != null) {
                w = Math.max(w, maxOut(l.sharedGate().mlp()));
            }
        }
        for (Mlp t : towers) {
            w = Math.max(w, maxOut(t));
        }
        return w;
    }

    private static int maxOut(Mlp m) {
        int w = 0;
        for (Linear l : m.layers()) {
            w = Math.max(w, l.out());
        }
        return w;
    }

    /** @return multiply-accumulates per case */
    public long macs() {
        long n = 0;
        for (Level l : levels) {
            for (Mlp m : l.experts()) {
                n += macs(m);
            }
            for (Gate g : l.taskGates()) {
                n += macs(g.mlp());
            }
            if (l.sharedGate() != null) {
                n += macs(l.sharedGate().mlp());
            }
        }
        for (Mlp t : towers) {
            n += macs(t);
        }
        return n;
    }

    private static long macs(Mlp m) {
        long n = 0;
        for (Linear l : m.layers()) {
            n += (long) l.in() * l.out();
        }
        return n;
    }

    /**
     * @param net the network config
     * @param phases number of phases
     * @param tensors weights by name
     */
    public static HeadGraph build(ModelConfig.Network net, int phases, Map<String, Tensor> tensors) {
        String p = net.prefix() + "head.";
        int in = net.fusedFeatures(phases);
        return switch (net.head()) {
            case ModelConfig.MlpHead mh -> new HeadGraph(in, List.of(), List.of(tower(p, in, mh.mlp(), tensors)));
            case ModelConfig.Ple ple -> {
                int tasks = net.tasks().size();
                int m = ple.taskExperts();
                int s = ple.sharedExperts();
                List<Level> levels = new ArrayList<>();
                for (int j = 0; j < ple.levels(); j++) {
                    int lin = j == 0 ? in : ple.expertWidth();
                    String lp = p + "levels." + j + ".";
                    List<Mlp> experts = new ArrayList<>();
                    for (int t = 0; t < tasks; t++) {
                        for (int e = 0; e < m; e++) {
                            experts.add(mlp(lp + "task_experts." + t + "." + e + ".", lin, ple.expertHidden(),
                                    ple.expertBn(), "layers.", "norms.", tensors));
                        }
                    }
                    for (int e = 0; e < s; e++) {
                        experts.add(mlp(lp + "shared_experts." + e + ".", lin, ple.expertHidden(), ple.expertBn(),
                                "layers.", "norms.", tensors));
                    }
                    List<Gate> gates = new ArrayList<>();
                    for (int t = 0; t < tasks; t++) {
                        int[] sel = new int[m + s];
                        for (int e = 0; e < m; e++) {
                            sel[e] = t * m + e;
                        }
                        for (int e = 0; e < s; e++) {
                            sel[m + e] = tasks * m + e;
                        }
                        gates.add(new Gate(gate(lp + "task_gates." + t + ".", lin, ple.gate(), tensors), sel));
                    }
                    Gate shared = null;
                    if (j < ple.levels() - 1) {
                        int[] sel = new int[tasks * m + s];
                        for (int e = 0; e < sel.length; e++) {
                            sel[e] = e;
                        }
                        shared = new Gate(gate(lp + "shared_gate.", lin, ple.gate(), tensors), sel);
                    }
                    levels.add(new Level(experts, gates, shared, m));
                }
                List<Mlp> towers = new ArrayList<>();
                for (int t = 0; t < tasks; t++) {
                    towers.add(tower(p + "towers." + t + ".", ple.expertWidth(), ple.tower(), tensors));
                }
                yield new HeadGraph(in, levels, towers);
            }
        };
    }

    private static Mlp mlp(String p, int in, int[] hidden, boolean bn, String layers, String norms,
            Map<String, Tensor> tensors) {
        List<Linear> out = new ArrayList<>();
        for (int i = 0; i < hidden.length; i++) {
            out.add(linear(p + layers + i, bn ? p + norms + i : null, true, true, in, tensors));
            in = hidden[i];
        }
        return new Mlp(out);
    }

    private static Mlp gate(String p, int in, ModelConfig.Gate g, Map<String, Tensor> tensors) {
        List<Linear> layers = new ArrayList<>(mlp(p, in, g.hidden(), false, "hidden.", "", tensors).layers());
        int last = layers.isEmpty() ? in : layers.get(layers.size() - 1).out();
        layers.add(linear(p + "out", g.bn() ? p + "norm" : null, g.bias(), false, last, tensors));
        return new Mlp(layers);
    }

    private static Mlp tower(String p, int in, ModelConfig.Mlp mlp, Map<String, Tensor> tensors) {
        List<Linear> layers = new ArrayList<>(mlp(p, in, mlp.hidden(), mlp.bn(), "hidden.", "norms.", tensors).layers());
        int last = layers.isEmpty() ? in : layers.get(layers.size() - 1).out();
        layers.add(linear(p + "out", null, mlp.bias(), false, last, tensors));
        return new Mlp(layers);
    }

    /** Linear {@code name} with optional BatchNorm1d {@code bn} folded in (eval mode). */
    private static Linear linear(String name, String bn, boolean hasBias, boolean relu, int in,
            Map<String, Tensor> tensors) {
        float[] w = tensors.get(name + ".weight").toArray();
        int out = w.length / in;
        float[] b = hasBias ? tensors.get(name + ".bias").toArray() : new float[out];
        if (bn != null) {
            float[] gamma = tensors.get(bn + ".weight").toArray();
            float[] beta = tensors.get(bn + ".bias").toArray();
            float[] mean = tensors.get(bn + ".running_mean").toArray();
            float[] var = tensors.get(bn + ".running_var").toArray();
            for (int o = 0; o < out; o++) {
                double scale = gamma[o] / Math.sqrt(var[o] + BackboneGraph.BN_EPS);
                for (int i = 0; i < in; i++) {
                    w[o * in + i] = (float) (w[o * in + i] * scale);
                }
                b[o] = (float) (beta[o] + (b[o] - mean[o]) * scale);
            }
        }
        BackboneGraph.requireFinite(name, bn, w, b);
        return new Linear(in, out, w, b, relu);
    }
}
