package org.renalmtl.engine.cuda;

import static org.bytedeco.cuda.global.cublas.CUBLAS_OP_N;
import static org.bytedeco.cuda.global.cublas.CUBLAS_OP_T;
import static org.bytedeco.cuda.global.cublas.cublasSgemm_v2;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.cuda.cublas.cublasContext;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.javacpp.FloatPointer;
import org.renalmtl.engine.classifier.HeadGraph;
import org.renalmtl.engine.plan.ArenaPlanner;

/**
 * A network head on the GPU for a fixed batch, the twin of the CPU's {@code CpuHead}: every Linear
 * is a cuBLAS SGEMM followed by our {@code bias_act}, every gate's softmax and expert mix one
 * {@code gate_softmax_mix}. Scratch buffers (experts, level inputs/outputs, hidden layers, gate
 * logits) are one region of the activation arena with CpuHead's layout. Each tower's last Linear
 * writes its logit straight into its task's column of the model's logits matrix; the tower biases
 * are added there for all networks at once (the plan's final {@code bias_act}), then {@code sigmoid}.
 */
final class CudaHead implements AutoCloseable {
    /** A Linear: weight and bias offsets in the weight block. */
    private record Lin(HeadGraph.Linear spec, long weight, long bias) {}

    private record Mlp(List<Lin> layers) {}

    private record Gate(Mlp mlp, long sel, int nsel) {}

    private record Level(List<Mlp> experts, List<Gate> taskGates, Gate sharedGate) {}

    /** One enqueued operation. */
    private sealed interface Step permits Gemm, Kernel {}

    /** {@code y (rows, out; row stride ldy) = x (rows, in) · W^T}, W (out, in) row-major. */
    private record Gemm(int out, int rows, int in, FloatPointer w, FloatPointer x, FloatPointer y, int ldy)
            implements Step {}

    private record Kernel(Kernels.Launch launch) implements Step {}

    private final HeadGraph graph;
    private final int batch;
    private final int tasks;
    private final int expertWidth;
    private final int maxWidth;
    private final int maxExperts;
    private final List<Level> levels = new ArrayList<>();
    private final List<Mlp> towers = new ArrayList<>();
    private final float[] towerBias; // per task of this network: its tower's final bias
    private final long bytes;
    private final List<Step> steps = new ArrayList<>();
    private final FloatPointer one = new FloatPointer(1f);
    private final FloatPointer zero = new FloatPointer(0f);
    private long weightBase;
    private Kernels kernels;

    /**
     * @param graph the head
     * @param batch cases per forward
     * @param weights receives the folded weights and gate selections
     */
    CudaHead(HeadGraph graph, int batch, WeightBlock weights) {
        this.graph = graph;
        this.batch = batch;
        this.tasks = graph.towers().size();
        this.expertWidth = graph.expertWidth();
        this.maxWidth = graph.maxWidth();
        this.maxExperts = graph.maxExperts();
        for (HeadGraph.Level l : graph.levels()) {
            List<Mlp> ex = new ArrayList<>();
            for (HeadGraph.Mlp m : l.experts()) {
                ex.add(register(m, weights));
            }
            List<Gate> gates = new ArrayList<>();
            for (HeadGraph.Gate g : l.taskGates()) {
                gates.add(register(g, weights));
            }
            levels.add(new Level(ex, gates, l.sharedGate() == null ? null : register(l.sharedGate(), weights)));
        }
        towerBias = new float[tasks];
        for (int t = 0; t < tasks; t++) {
            HeadGraph.Mlp m = graph.towers().get(t);
            towers.add(register(m, weights));
            towerBias[t] = m.layers().get(m.layers().size() - 1).bias()[0];
        }
        long eb = (long) batch * expertWidth * Float.BYTES;
        this.bytes = ArenaPlanner.align(maxExperts * eb) + 2 * ArenaPlanner.align((tasks + 1) * eb)
                + 3 * ArenaPlanner.align((long) batch * maxWidth * Float.BYTES);
    }

    private static Mlp register(HeadGraph.Mlp m, WeightBlock weights) {
        List<Lin> out = new ArrayList<>();
        for (HeadGraph.Linear l : m.layers()) {
            out.add(new Lin(l, weights.add(l.weight()), weights.add(l.bias())));
        }
        return new Mlp(out);
    }

    private static Gate register(HeadGraph.Gate g, WeightBlock weights) {
        return new Gate(register(g.mlp(), weights), weights.add(g.selection()), g.selection().length);
    }

    /** @return activation-arena bytes this head needs while it runs */
    long bytes() {
        return bytes;
    }

    /** @return per task of this network, the bias of its tower's last Linear */
    float[] towerBias() {
        return towerBias.clone();
    }

    /**
     * Builds every step against fixed addresses.
     *
     * @param region device address of this head's arena region ({@link #bytes} long)
     * @param features device address of the fused features // (batch, inputWidth)
     * @param logits device address of the model's logits // (batch, logitStride)
     * @param columns model column of each of this network's tasks
     * @param logitStride tasks of the whole model
     * @param weights device address of the weight block
     * @param k the plan's kernels
     */
    void bind(long region, long features, long logits, int[] columns, int logitStride, long weights, Kernels k) {
        this.weightBase = weights;
        this.kernels = k;
        long eb = (long) batch * expertWidth * Float.BYTES;
        long off = region;
        long experts = off; // (E, batch, expertWidth)
        off += ArenaPlanner.align(maxExperts * eb);
        long[][] taskSlices = new long[2][tasks]; // [2][task] → (batch, expertWidth)
        long[] sharedIn = new long[2]; // (batch, expertWidth)
        for (int s = 0; s < 2; s++) {
            for (int t = 0; t < tasks; t++) {
                taskSlices[s][t] = off + t * eb;
            }
            sharedIn[s] = off + tasks * eb;
            off += ArenaPlanner.align((tasks + 1) * eb);
        }
        long tb = (long) batch * maxWidth * Float.BYTES;
        long tmpA = off; // (batch, maxWidth)
        long tmpB = off + ArenaPlanner.align(tb);
        long gateLogits = off + 2 * ArenaPlanner.align(tb); // (batch, maxWidth)
        long[] tmp = {tmpA, tmpB};
        if (levels.isEmpty()) {
            tower(towers.get(0), features, logits + (long) columns[0] * Float.BYTES, logitStride, tmp);
            return;
        }
        int cur = 0;
        int perTask = graph.levels().get(0).taskExperts();
        for (int j = 0; j < levels.size(); j++) {
            Level level = levels.get(j);
            for (int e = 0; e < level.experts().size(); e++) {
                long in = j == 0 ? features : e < tasks * perTask ? taskSlices[cur][e / perTask] : sharedIn[cur];
                mlp(level.experts().get(e), in, experts + e * eb, tmp);
            }
            int next = 1 - cur;
            for (int t = 0; t < level.taskGates().size(); t++) {
                Gate g = level.taskGates().get(t);
                mlp(g.mlp(), j == 0 ? features : taskSlices[cur][t], gateLogits, tmp);
                mix(g, taskSlices[next][t], gateLogits, experts);
            }
            if (level.sharedGate() != null) {
                Gate g = level.sharedGate();
                mlp(g.mlp(), j == 0 ? features : sharedIn[cur], gateLogits, tmp);
                mix(g, sharedIn[next], gateLogits, experts);
            }
            cur = next;
        }
        for (int t = 0; t < tasks; t++) {
            tower(towers.get(t), taskSlices[cur][t], logits + (long) columns[t] * Float.BYTES, logitStride, tmp);
        }
    }

    private void mix(Gate g, long out, long gateLogits, long experts) {
        steps.add(new Kernel(kernels.launch("gate_softmax_mix", (long) batch * expertWidth)
                .ptr(out).ptr(gateLogits).ptr(experts).ptr(weightBase + g.sel())
                .i32(batch).i32(expertWidth).i32(g.nsel()).i32(expertWidth)));
    }

    private static FloatPointer f(long address) {
        return new FloatPointer(Cuda.at(address));
    }

    private void linear(Lin l, long in, long out, boolean withBias) {
        HeadGraph.Linear s = l.spec();
        steps.add(new Gemm(s.out(), batch, s.in(), f(weightBase + l.weight()), f(in), f(out), s.out()));
        if (withBias) {
            steps.add(new Kernel(kernels.launch("bias_act", (long) batch * s.out())
                    .ptr(out).ptr(weightBase + l.bias()).i32(batch).i32(s.out()).i32(s.relu() ? 1 : 0)));
        }
    }

    /** An MLP from {@code in} to the contiguous {@code out}, hidden layers through the tmp buffers. */
    private void mlp(Mlp m, long in, long out, long[] tmp) {
        long x = in;
        for (int i = 0; i < m.layers().size(); i++) {
            boolean last = i == m.layers().size() - 1;
            long y = last ? out : x == tmp[0] ? tmp[1] : tmp[0];
            linear(m.layers().get(i), x, y, true);
            x = y;
        }
    }

    /** A tower: hidden layers, then the 1-wide logit GEMM into a strided logits column (bias added later). */
    private void tower(Mlp m, long in, long column, int stride, long[] tmp) {
        long x = in;
        List<Lin> layers = m.layers();
        for (int i = 0; i < layers.size() - 1; i++) {
            long y = x == tmp[0] ? tmp[1] : tmp[0];
            linear(layers.get(i), x, y, true);
            x = y;
        }
        Lin last = layers.get(layers.size() - 1);
        steps.add(new Gemm(1, batch, last.spec().in(), f(weightBase + last.weight()), f(x), f(column), stride));
    }

    /**
     * Issues every step; allocates nothing, safe to capture.
     *
     * @param blas cuBLAS handle on {@code stream}
     */
    void enqueue(cublasContext blas, CUstream_st stream) {
        for (Step step : steps) {
            switch (step) {
                // Row-major y = x·W^T is column-major y^T = W^T(in×out, ld in)^T · x^T(in×rows, ld in).
                case Gemm g -> Cuda.checkBlas(cublasSgemm_v2(blas, CUBLAS_OP_T, CUBLAS_OP_N, g.out(), g.rows(), g.in(),
                        one, g.w(), g.in(), g.x(), g.in(), zero, g.y(), g.ldy()), "sgemm");
                case Kernel k -> k.launch().enqueue(stream);
            }
        }
    }

    @Override
    public void close() {
        one.close();
        zero.close();
    }
}
