package org.renalmtl.engine.cpu;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.renalmtl.engine.graph.ClassifierGraphs;
import org.renalmtl.engine.graph.FoldBatchNorm;
import org.renalmtl.engine.graph.FuseResidual;
import org.renalmtl.engine.graph.Graph;
import org.renalmtl.engine.graph.Schedule;
import org.renalmtl.engine.graph.Storage;
import org.renalmtl.engine.plan.ArenaPlanner;
import org.renalmtl.engine.plan.ExecutionPlan;
import org.renalmtl.engine.plan.MemoryBudget;
import org.renalmtl.weights.ModelConfig;
import org.renalmtl.weights.Tensor;

/**
 * A model on the CPU for one shape (cases, D, H, W): each network a {@link Graph} (built from the
 * config, BatchNorm folded, residual adds fused into their convs) compiled by {@link CpuGraph}. The
 * networks run one after another, so they share one activation arena sized for the largest and one
 * scratchpad; each copies its outputs out before the next runs. {@link #forward} allocates nothing.
 */
public final class CpuPlan implements ExecutionPlan {
    private final ModelConfig config;
    private final int cases;
    private final List<CpuGraph> graphs = new ArrayList<>(); // per network, in config order
    private final int[][] taskColumns; // per network: its tasks' columns in the model's output
    private final Arena arena = Arena.ofShared();
    private final MemorySegment[] probabilities; // per network: (cases, tasks of the network)
    private final MemorySegment[] features; // per network: (cases, fused)
    private final MemorySegment[][] inputs; // per network: its one graph input (re-aimed per forward)
    private final MemorySegment[][] outputs; // per network: {probabilities, features} in graph output order
    private final long activationBytes;
    private final long lowerBound;
    private final long scratchBytes;

    /**
     * @param config model config
     * @param tensors weights; only read while the plan is built (the kernels keep packed copies)
     * @param cases cases per forward
     * @param size (D, H, W) of one phase
     * @throws org.renalmtl.engine.ModelRunException if the input is too small for the strides, a folded
     *     weight is not finite, or the plan needs more memory than the machine has
     */
    public CpuPlan(ModelConfig config, Map<String, Tensor> tensors, int cases, int[] size) {
        this(config, tensors, cases, size, null, null);
    }

    /**
     * As {@link #CpuPlan(ModelConfig, Map, int, int[])}, optionally spending the tensors.
     *
     * @param spentTensor null if the tensors are the caller's to keep; otherwise they are the plan's to
     *     spend: BatchNorm is folded into the weights' own memory (no folded copy of the model while
     *     planning), and {@code spentTensor} is given each tensor's memory as soon as every node that reads
     *     it has packed it, so that the caller may free it there: the file's copy shrinks as the packed one
     *     grows, and the model is never held twice. Memory the caller does not own (folded copies) may be
     *     handed over too; it is ignored. The caller must not use the tensors again, even if this
     *     constructor throws.
     * @param spent with {@code spentTensor}: runs as soon as every kernel has packed its weights, before
     *     the arena is allocated, so the caller frees what is left of them there
     */
    public CpuPlan(ModelConfig config, Map<String, Tensor> tensors, int cases, int[] size,
            Consumer<MemorySegment> spentTensor, Runnable spent) {
        this.config = config;
        this.cases = cases;
        int n = config.networks().size();
        taskColumns = new int[n][];
        probabilities = new MemorySegment[n];
        features = new MemorySegment[n];
        inputs = new MemorySegment[n][];
        outputs = new MemorySegment[n][];
        long act = 0;
        long lower = 0;
        long scratch = 0;
        try (Arena folded = Arena.ofConfined()) { // folded weights: packed into the kernels at bind, then freed
            List<Graph> built = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                ModelConfig.Network net = config.networks().get(i);
                Graph g = FuseResidual.apply(FoldBatchNorm.apply(
                        ClassifierGraphs.build(config, net, tensors, cases, size), folded, spentTensor != null));
                // Dense sizes give a lower bound of the real plan (blocked layouts only pad): refuse a shape
                // the machine cannot hold before oneDNN is asked to plan for it, which takes minutes at 1024³.
                MemoryBudget.check("activations for " + cases + " case(s) of " + size[0] + "×" + size[1] + "×" + size[2],
                        Schedule.of(g, Storage.PLAIN).arenaBytes(), MemoryBudget.machineBytes(), "this machine");
                built.add(g);
            }
            List<List<List<MemorySegment>>> release = spentTensor == null ? null : lastReaders(built);
            for (int i = 0; i < n; i++) {
                ModelConfig.Network net = config.networks().get(i);
                List<List<MemorySegment>> after = release == null ? null : release.get(i);
                CpuGraph cg = after == null ? CpuGraph.prepare(built.get(i))
                        : CpuGraph.prepare(built.get(i), node -> after.get(node).forEach(spentTensor));
                graphs.add(cg);
                taskColumns[i] = net.tasks().stream().mapToInt(config::taskIndex).toArray();
                act = Math.max(act, cg.arenaBytes());
                lower = Math.max(lower, cg.schedule().lowerBound());
                scratch = Math.max(scratch, cg.workspaceBytes());
            }
            activationBytes = act;
            lowerBound = lower;
            scratchBytes = scratch;
            if (spentTensor != null && spent != null) {
                spent.run(); // every weight is packed: the file's copy goes before the arena comes
            }
            MemoryBudget.check("activations and scratch for " + cases + " case(s) of " + size[0] + "×" + size[1] + "×"
                    + size[2], act + scratch, MemoryBudget.machineBytes(), "this machine");
            MemorySegment activations = arena.allocate(Math.max(act, 64), ArenaPlanner.ALIGNMENT);
            MemorySegment workspace = arena.allocate(Math.max(scratch, 64), ArenaPlanner.ALIGNMENT);
            for (int i = 0; i < n; i++) {
                CpuGraph cg = graphs.get(i);
                cg.bind(activations, workspace);
                Graph g = cg.schedule().graph();
                probabilities[i] = arena.allocate(g.value(g.outputs().get(ClassifierGraphs.PROBABILITIES)).bytes(), 64);
                features[i] = arena.allocate(g.value(g.outputs().get(ClassifierGraphs.FEATURES)).bytes(), 64);
                outputs[i] = new MemorySegment[g.outputs().size()];
                int k = 0;
                for (String name : g.outputs().keySet()) {
                    outputs[i][k++] = name.equals(ClassifierGraphs.PROBABILITIES) ? probabilities[i] : features[i];
                }
                inputs[i] = new MemorySegment[1];
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /**
     * Where each constant's memory is read for the last time: several constants may share memory (a weight
     * folded in place is the original's bytes under a new name), so memory is tracked by address, and the
     * latest reader over every network wins.
     *
     * @return per network, per node: the memory no node after it reads
     */
    private static List<List<List<MemorySegment>>> lastReaders(List<Graph> graphs) {
        Map<Long, int[]> last = new HashMap<>(); // address → {network, node} of its last reader
        Map<Long, MemorySegment> memory = new HashMap<>();
        for (int n = 0; n < graphs.size(); n++) {
            Graph g = graphs.get(n);
            for (int i = 0; i < g.nodes().size(); i++) {
                for (String c : g.nodes().get(i).op().constants()) {
                    MemorySegment data = g.constant(c).data();
                    last.put(data.address(), new int[] {n, i});
                    memory.merge(data.address(), data, (a, b) -> a.byteSize() >= b.byteSize() ? a : b);
                }
            }
        }
        List<List<List<MemorySegment>>> release = new ArrayList<>();
        for (Graph g : graphs) {
            List<List<MemorySegment>> perNode = new ArrayList<>();
            for (int i = 0; i < g.nodes().size(); i++) {
                perNode.add(new ArrayList<>());
            }
            release.add(perNode);
        }
        for (Map.Entry<Long, int[]> e : last.entrySet()) {
            release.get(e.getValue()[0]).get(e.getValue()[1]).add(memory.get(e.getKey()));
        }
        return release;
    }

    @Override
    public int cases() {
        return cases;
    }

    @Override
    public long activationBytes() {
        return activationBytes;
    }

    @Override
    public long activationLowerBound() {
        return lowerBound;
    }

    @Override
    public long scratchBytes() {
        return scratchBytes;
    }

    /** @return bytes of weights held in oneDNN layouts (all networks) */
    @Override
    public long weightBytes() {
        long s = 0;
        for (CpuGraph g : graphs) {
            s += g.weightBytes();
        }
        return s;
    }

    /**
     * Runs every network and writes probabilities.
     *
     * @param input // (cases, phases, D, H, W)
     * @param probabilities // (cases, tasks) in config task order
     */
    @Override
    public void forward(MemorySegment input, MemorySegment probabilities) {
        int tasks = config.tasks().size();
        for (int i = 0; i < graphs.size(); i++) {
            inputs[i][0] = input;
            graphs.get(i).run(inputs[i], outputs[i]);
            int[] cols = taskColumns[i];
            for (int c = 0; c < cases; c++) {
                for (int t = 0; t < cols.length; t++) {
                    float p = this.probabilities[i].getAtIndex(JAVA_FLOAT, (long) c * cols.length + t);
                    probabilities.setAtIndex(JAVA_FLOAT, (long) c * tasks + cols[t], p);
                }
            }
        }
    }

    /**
     * Re-runs each network on the last forward's input with a check after every node.
     *
     * @return "network 'x', node y" for the first node whose output is not finite, or null
     */
    @Override
    public String firstNonFiniteLayer(MemorySegment input) {
        for (int i = 0; i < graphs.size(); i++) {
            inputs[i][0] = input;
            String node = graphs.get(i).firstNonFinite(inputs[i]);
            if (node != null) {
                return "network '" + config.networks().get(i).name() + "', node " + node;
            }
        }
        return null;
    }

    @Override
    public String nonFiniteVector() {
        for (int i = 0; i < graphs.size(); i++) {
            String node = graphs.get(i).firstNonFiniteVector();
            if (node != null) {
                return "network '" + config.networks().get(i).name() + "', node " + node;
            }
        }
        return null;
    }

    /** @return fused features of network {@code i} from the last forward // (cases, fused) */
    @Override
    public MemorySegment features(int i) {
        return features[i];
    }

    @Override
    public void close() {
        for (CpuGraph g : graphs) {
            g.close();
        }
        arena.close();
    }
}
