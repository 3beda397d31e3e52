package org.renalmtl.engine.cpu;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import org.renalmtl.engine.classifier.HeadGraph;
import org.renalmtl.engine.plan.ArenaPlanner;

/**
 * A network head on the CPU for a fixed batch: weights copied once into an off-heap weight block,
 * scratch buffers carved from the activation arena, every slice made at bind time so
 * {@link #execute} allocates nothing.
 */
final class CpuHead implements AutoCloseable {
    /** A Linear bound to its weight slices. */
    private record BoundLinear(HeadGraph.Linear spec, MemorySegment weight, MemorySegment bias) {}

    private record BoundMlp(List<BoundLinear> layers) {}

    private record BoundGate(BoundMlp mlp, MemorySegment sel, int nsel) {}

    private record BoundLevel(List<BoundMlp> experts, List<BoundGate> taskGates, BoundGate sharedGate) {}

    private final HeadGraph graph;
    private final int batch;
    private final int tasks;
    private final int expertWidth;
    private final int maxWidth;
    private final Arena weightArena = Arena.ofShared();
    private final List<BoundLevel> levels = new ArrayList<>();
    private final List<BoundMlp> towers = new ArrayList<>();
    private final long bytes;
    // Scratch slices of the activation arena, set by bind():
    private MemorySegment experts; // (E, batch, expertWidth)
    private MemorySegment[] taskIn; // 2 × (tasks, batch, expertWidth): this level's input / output
    private MemorySegment[] sharedIn; // 2 × (batch, expertWidth)
    private MemorySegment tmpA; // (batch, maxWidth)
    private MemorySegment tmpB; // (batch, maxWidth)
    private MemorySegment gateLogits; // (batch, maxWidth): a gate's logits, apart from its hidden layers
    private MemorySegment[][] taskSlices; // [2][task] → (batch, expertWidth)
    private MemorySegment[] expertSlices; // [e] → (batch, expertWidth)

    CpuHead(HeadGraph graph, int batch) {
        this.graph = graph;
        this.batch = batch;
        this.tasks = graph.towers().size();
        this.expertWidth = graph.expertWidth();
        this.maxWidth = graph.maxWidth();
        int maxExperts = graph.maxExperts();
        for (HeadGraph.Level l : graph.levels()) {
            List<BoundMlp> ex = new ArrayList<>();
            for (HeadGraph.Mlp m : l.experts()) {
                ex.add(bind(m));
            }
            List<BoundGate> gates = new ArrayList<>();
            for (HeadGraph.Gate g : l.taskGates()) {
                gates.add(bind(g));
            }
            levels.add(new BoundLevel(ex, gates, l.sharedGate() == null ? null : bind(l.sharedGate())));
        }
        for (HeadGraph.Mlp t : graph.towers()) {
            towers.add(bind(t));
        }
        long expertsBytes = (long) maxExperts * batch * expertWidth * Float.BYTES;
        long levelBytes = (long) (tasks + 1) * batch * expertWidth * Float.BYTES;
        long tmpBytes = (long) batch * maxWidth * Float.BYTES;
        this.bytes = ArenaPlanner.align(expertsBytes) + 2 * ArenaPlanner.align(levelBytes) + 3 * ArenaPlanner.align(tmpBytes);
    }

    private BoundMlp bind(HeadGraph.Mlp m) {
        List<BoundLinear> out = new ArrayList<>();
        for (HeadGraph.Linear l : m.layers()) {
            MemorySegment w = weightArena.allocate((long) l.weight().length * Float.BYTES, 64);
            MemorySegment.copy(l.weight(), 0, w, JAVA_FLOAT, 0, l.weight().length);
            MemorySegment b = weightArena.allocate((long) l.bias().length * Float.BYTES, 64);
            MemorySegment.copy(l.bias(), 0, b, JAVA_FLOAT, 0, l.bias().length);
            out.add(new BoundLinear(l, w, b));
        }
        return new BoundMlp(out);
    }

    private BoundGate bind(HeadGraph.Gate g) {
        MemorySegment sel = weightArena.allocate((long) g.selection().length * Integer.BYTES, 64);
        MemorySegment.copy(g.selection(), 0, sel, JAVA_INT, 0, g.selection().length);
        return new BoundGate(bind(g.mlp()), sel, g.selection().length);
    }

    /** @return activation-arena bytes this head needs while it runs */
    long bytes() {
        return bytes;
    }

    /** Carves the scratch buffers from {@code region} (at least {@link #bytes} long). */
    void bind(MemorySegment region) {
        long off = 0;
        int maxExperts = graph.maxExperts();
        long eb = (long) batch * expertWidth * Float.BYTES;
        experts = region.asSlice(off, maxExperts * eb);
        off += ArenaPlanner.align(maxExperts * eb);
        expertSlices = new MemorySegment[maxExperts];
        for (int e = 0; e < maxExperts; e++) {
            expertSlices[e] = experts.asSlice(e * eb, eb);
        }
        taskIn = new MemorySegment[2];
        sharedIn = new MemorySegment[2];
        taskSlices = new MemorySegment[2][tasks];
        for (int k = 0; k < 2; k++) {
            taskIn[k] = region.asSlice(off, tasks * eb);
            sharedIn[k] = region.asSlice(off + tasks * eb, eb);
            for (int t = 0; t < tasks; t++) {
                taskSlices[k][t] = taskIn[k].asSlice(t * eb, eb);
            }
            off += ArenaPlanner.align((tasks + 1) * eb);
        }
        long tb = (long) batch * maxWidth * Float.BYTES;
        tmpA = region.asSlice(off, tb);
        off += ArenaPlanner.align(tb);
        tmpB = region.asSlice(off, tb);
        off += ArenaPlanner.align(tb);
        gateLogits = region.asSlice(off, tb);
    }

    /**
     * Runs the head.
     *
     * @param features fused features // (batch, inputWidth)
     * @param logits tower logits, one column per task of this network // (batch, tasks)
     */
    void execute(MemorySegment features, MemorySegment logits) {
        execute(features, logits, null);
    }

    /** Runs the head; with a probe, checks each expert's, gate's and tower's output after it runs. */
    void execute(MemorySegment features, MemorySegment logits, NonFiniteProbe probe) {
        if (levels.isEmpty()) {
            mlpInto(towers.get(0), features, logits, 0, 1);
            if (probe != null) { // labels are built only on the checked re-run: forward allocates nothing
                probe.after("head tower 0", logits);
            }
            return;
        }
        int cur = 0;
        for (int j = 0; j < levels.size(); j++) {
            BoundLevel level = levels.get(j);
            for (int e = 0; e < level.experts().size(); e++) {
                // Level 0: everything reads the features; later: task experts read their task's
                // output, shared experts the shared output.
                MemorySegment in = j == 0 ? features : expertInput(level, e, cur);
                mlp(level.experts().get(e), in, expertSlices[e]);
                if (probe != null) {
                    probe.after("head level " + j + " expert " + e, expertSlices[e]);
                }
            }
            int next = 1 - cur;
            for (int t = 0; t < level.taskGates().size(); t++) {
                BoundGate g = level.taskGates().get(t);
                mlp(g.mlp(), j == 0 ? features : taskSlices[cur][t], gateLogits);
                Head.gateSoftmaxMix(taskSlices[next][t], gateLogits, experts, g.sel(), batch, expertWidth, g.nsel(), expertWidth);
                if (probe != null) {
                    probe.after("head level " + j + " gate of task " + t, taskSlices[next][t]);
                }
            }
            if (level.sharedGate() != null) {
                BoundGate g = level.sharedGate();
                mlp(g.mlp(), j == 0 ? features : sharedIn[cur], gateLogits);
                Head.gateSoftmaxMix(sharedIn[next], gateLogits, experts, g.sel(), batch, expertWidth, g.nsel(), expertWidth);
                if (probe != null) {
                    probe.after("head level " + j + " shared gate", sharedIn[next]);
                }
            }
            cur = next;
        }
        for (int t = 0; t < towers.size(); t++) {
            mlpInto(towers.get(t), taskSlices[cur][t], logits, t, tasks);
            if (probe != null) {
                probe.after("head tower " + t, logits);
            }
        }
    }


    private MemorySegment expertInput(BoundLevel level, int e, int cur) {
        int perTask = graph.levels().get(0).taskExperts();
        int taskExperts = tasks * perTask;
        return e < taskExperts ? taskSlices[cur][e / perTask] : sharedIn[cur];
    }

    /** Runs an MLP from {@code in} to the contiguous {@code out}, hidden layers through tmpA/tmpB. */
    private void mlp(BoundMlp m, MemorySegment in, MemorySegment out) {
        List<BoundLinear> layers = m.layers();
        MemorySegment x = in;
        for (int i = 0; i < layers.size(); i++) {
            BoundLinear l = layers.get(i);
            boolean last = i == layers.size() - 1;
            MemorySegment y = last ? out : (x == tmpA ? tmpB : tmpA);
            Head.linear(y, x, l.weight(), batch, l.spec().in(), l.spec().out(), l.spec().out());
            Head.biasAct(y, l.bias(), batch, l.spec().out(), l.spec().relu() ? 1 : 0);
            x = y;
        }
    }

    /** Tower: hidden layers through tmp buffers, final 1-wide logit into column {@code col} of {@code logits}. */
    private void mlpInto(BoundMlp m, MemorySegment in, MemorySegment logits, int col, int stride) {
        List<BoundLinear> layers = m.layers();
        MemorySegment x = in;
        for (int i = 0; i < layers.size() - 1; i++) {
            BoundLinear l = layers.get(i);
            MemorySegment y = x == tmpA ? tmpB : tmpA;
            Head.linear(y, x, l.weight(), batch, l.spec().in(), l.spec().out(), l.spec().out());
            Head.biasAct(y, l.bias(), batch, l.spec().out(), 1);
            x = y;
        }
        BoundLinear last = layers.get(layers.size() - 1);
        MemorySegment y = x == tmpA ? tmpB : tmpA;
        Head.linear(y, x, last.weight(), batch, last.spec().in(), 1, 1);
        Head.biasAct(y, last.bias(), batch, 1, 0);
        for (int b = 0; b < batch; b++) {
            logits.setAtIndex(JAVA_FLOAT, (long) b * stride + col, y.getAtIndex(JAVA_FLOAT, b));
        }
    }

    @Override
    public void close() {
        weightArena.close();
    }
}
