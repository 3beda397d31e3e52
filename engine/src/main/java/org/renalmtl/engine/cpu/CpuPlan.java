package org.renalmtl.engine.cpu;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.renalmtl.engine.plan.ArenaPlanner;
import org.renalmtl.engine.plan.ExecutionPlan;
import org.renalmtl.engine.plan.MemoryBudget;
import org.renalmtl.weights.ModelConfig;
import org.renalmtl.weights.Tensor;

/**
 * Everything a model needs to run one shape on the CPU: its networks, one activation arena that
 * they share (they run in sequence, so it is sized for the largest, not their sum), and one oneDNN
 * scratchpad. Created once per (cases, D, H, W); {@link #forward} allocates nothing.
 */
public final class CpuPlan implements ExecutionPlan {
    private final ModelConfig config;
    private final int cases;
    private final List<CpuNetwork> networks = new ArrayList<>();
    private final int[][] taskColumns; // per network: its tasks' columns in the model's output
    private final Arena arena = Arena.ofShared();
    private final long activationBytes;
    private final long lowerBound;
    private final long scratchBytes;
    private final MemorySegment activations; // the arena every network's values are planned in

    /**
     * @param config model config
     * @param tensors weights
     * @param cases cases per forward
     * @param size (D, H, W) of one phase
     */
    public CpuPlan(ModelConfig config, Map<String, Tensor> tensors, int cases, int[] size) {
        this.config = config;
        this.cases = cases;
        taskColumns = new int[config.networks().size()][];
        long act = 0;
        long lower = 0;
        long scratch = 0;
        List<ArenaPlanner.Plan> plans = new ArrayList<>();
        try {
            for (int i = 0; i < config.networks().size(); i++) {
                ModelConfig.Network net = config.networks().get(i);
                CpuNetwork n = new CpuNetwork(config, net, tensors, cases, size);
                networks.add(n);
                taskColumns[i] = net.tasks().stream().mapToInt(config::taskIndex).toArray();
                ArenaPlanner.Plan p = ArenaPlanner.plan(n.requests());
                plans.add(p);
                act = Math.max(act, p.size());
                lower = Math.max(lower, p.lowerBound());
                scratch = Math.max(scratch, n.scratchBytes());
            }
            this.activationBytes = act;
            this.lowerBound = lower;
            this.scratchBytes = scratch;
            MemoryBudget.check("activations and scratch for " + cases + " case(s) of " + size[0] + "×" + size[1] + "×"
                    + size[2], act + scratch, MemoryBudget.machineBytes(), "this machine");
            activations = arena.allocate(Math.max(act, 64), ArenaPlanner.ALIGNMENT);
            MemorySegment scratchSeg = arena.allocate(Math.max(scratch, 64), ArenaPlanner.ALIGNMENT);
            for (int i = 0; i < networks.size(); i++) {
                CpuNetwork n = networks.get(i);
                n.bind(activations, plans.get(i).offsets(), scratchSeg, arena.allocate(n.featureBytes(), 64));
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** @return cases per forward */
    @Override
    public int cases() {
        return cases;
    }

    /** @return the networks, in config order */
    public List<CpuNetwork> networks() {
        return networks;
    }

    /** @return planned activation bytes (shared by all networks) */
    @Override
    public long activationBytes() {
        return activationBytes;
    }

    /** @return the best any placement could do: the most bytes live at one step */
    @Override
    public long activationLowerBound() {
        return lowerBound;
    }

    /** @return oneDNN scratchpad bytes */
    @Override
    public long scratchBytes() {
        return scratchBytes;
    }

    /** @return bytes of weights held in oneDNN layouts (all networks) */
    @Override
    public long weightBytes() {
        long s = 0;
        for (CpuNetwork n : networks) {
            s += n.weightBytes();
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
        for (int i = 0; i < networks.size(); i++) {
            MemorySegment logits = networks.get(i).forward(input);
            int[] cols = taskColumns[i];
            for (int c = 0; c < cases; c++) {
                for (int t = 0; t < cols.length; t++) {
                    float x = logits.getAtIndex(JAVA_FLOAT, (long) c * cols.length + t);
                    probabilities.setAtIndex(JAVA_FLOAT, (long) c * tasks + cols[t], x);
                }
            }
        }
        Head.sigmoid(probabilities, probabilities, cases * tasks);
    }

    /**
     * Re-runs the forward with a check after every layer, the activation arena first zeroed so that
     * nothing left from an earlier forward is taken for this one's output.
     */
    @Override
    public String firstNonFiniteLayer(MemorySegment input) {
        activations.fill((byte) 0);
        for (CpuNetwork n : networks) {
            String where = n.firstNonFiniteLayer(input);
            if (where != null) {
                return where;
            }
        }
        return null;
    }

    /** @return fused features of network {@code i} from the last forward // (cases, fused) */
    @Override
    public MemorySegment features(int i) {
        return networks.get(i).features();
    }

    @Override
    public void close() {
        for (CpuNetwork n : networks) {
            n.close();
        }
        arena.close();
    }
}
