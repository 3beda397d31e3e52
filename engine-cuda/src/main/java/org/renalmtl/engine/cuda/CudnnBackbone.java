package org.renalmtl.engine.cuda;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.cuda.cudnn.cudnnContext;
import org.bytedeco.javacpp.Pointer;
import org.renalmtl.engine.classifier.BackboneGraph;
import org.renalmtl.engine.classifier.Op;
import org.renalmtl.engine.classifier.Value;
import org.renalmtl.engine.plan.ArenaPlanner;

/**
 * One backbone on cuDNN and our kernels for a fixed batch, activations NDHWC (channels last, what
 * tensor cores want; NCDHW would make cuDNN insert transposes). Mirrors the CPU's plan:
 * {@link #requests} tells the planner what activation memory it needs (same liveness),
 * {@link #bind} points every step at its planned place, {@link #chooseAlgorithms} chooses each
 * convolution's algorithm once, {@link #enqueue} issues the steps and allocates nothing.
 *
 * <p>Convolutions are {@link CudnnConv}s: the graph's folded BatchNorm as bias, the residual as
 * {@code z} aliasing {@code y} (the graph writes a block's last conv in place over its shortcut),
 * ReLU or IDENTITY (the shortcut-B convs). Max-pool, type-A shortcut and the global average pool
 * run our kernels. Value 0, the input, is stored with its channels zero-padded to a multiple of 8
 * (the stem's weights likewise), written by the network's {@code ncdhw_to_ndhwc} launch.
 */
final class CudnnBackbone implements AutoCloseable {
    private final BackboneGraph graph;
    private final int batch;
    private final int featureRowStride;
    private final int inputChannels; // value 0's stored channels: in_channels rounded up to 8
    private final ConvMath.Use math;
    private final List<Step> steps = new ArrayList<>();
    private final long[] valueAddress; // per value: device address, set by bind()
    private long workspaceAddress;
    private long workspaceBytes;

    /** A step of the backbone. */
    private sealed interface Step permits ConvStep, KernelStep {}

    /**
     * A cuDNN convolution and where its weights are.
     *
     * @param op the graph's convolution
     * @param conv its cuDNN layer
     * @param weightOffset into the weight block // (cout, kd, kh, kw, cin stored)
     * @param biasOffset into the weight block // (cout)
     */
    private record ConvStep(Op.Conv op, CudnnConv conv, long weightOffset, long biasOffset) implements Step {}

    /** One of our kernels; its launch is built at bind time. */
    private static final class KernelStep implements Step {
        final Op op;
        Kernels.Launch launch;

        KernelStep(Op op) {
            this.op = op;
        }
    }

    /**
     * @param name prefix of its layers' names in messages and reports, e.g. {@code mtdl} or {@code renal/venous}
     * @param graph the backbone
     * @param batch samples per forward (cases × phases for {@code batch} fusion)
     * @param featureRowStride elements between consecutive samples' feature rows in the output
     * @param math the plan's convolution math types
     * @param weights receives the reordered, folded weights
     */
    CudnnBackbone(String name, BackboneGraph graph, int batch, int featureRowStride, ConvMath.Use math,
            WeightBlock weights) {
        this.graph = graph;
        this.batch = batch;
        this.featureRowStride = featureRowStride;
        this.math = math;
        this.inputChannels = (graph.values().get(0).channels() + 7) / 8 * 8;
        this.valueAddress = new long[graph.values().size()];
        List<Value> values = graph.values();
        for (Op op : graph.ops()) {
            if (op instanceof Op.Conv c && !c.identityShortcut()) {
                int cin = storedChannels(c.src());
                CudnnConv conv = new CudnnConv(name + "/" + c.name(), c, batch, cin, values.get(c.src()),
                        values.get(c.dst()));
                steps.add(new ConvStep(c, conv, weights.add(ndhwcWeights(c, cin)), weights.add(c.bias())));
            } else {
                steps.add(new KernelStep(op));
            }
        }
    }

    /** @return channels as stored: value 0 padded to a multiple of 8 */
    int storedChannels(int value) {
        return value == 0 ? inputChannels : graph.values().get(value).channels();
    }

    /** @return value 0's stored channels (the layout kernel's {@code cpad}) */
    int inputChannels() {
        return inputChannels;
    }

    /** @return value 0's device address (the layout kernel writes there); valid after bind */
    long inputAddress() {
        return valueAddress[0];
    }

    /** @return the graph */
    BackboneGraph graph() {
        return graph;
    }

    /** (cout, cin, kd, kh, kw) → (cout, kd, kh, kw, cpad), zero in the padded input channels. */
    static float[] ndhwcWeights(Op.Conv c, int cpad) {
        int k = c.kernel()[0] * c.kernel()[1] * c.kernel()[2];
        float[] out = new float[c.cout() * k * cpad];
        float[] w = c.weight();
        for (int o = 0; o < c.cout(); o++) {
            for (int i = 0; i < c.cin(); i++) {
                for (int t = 0; t < k; t++) {
                    out[(o * k + t) * cpad + i] = w[(o * c.cin() + i) * k + t];
                }
            }
        }
        return out;
    }

    private long bytes(int value) {
        Value v = graph.values().get(value);
        return (long) batch * storedChannels(value) * v.spatial() * Float.BYTES;
    }

    /** @return steps: the input layout, then one per op */
    int stepCount() {
        return graph.ops().size() + 1;
    }

    /**
     * Activation buffers to plan, one per arena value (all but the output, which is written into
     * the fused features): lifetimes in steps {@code stepOffset + k}, where step 0 is the input
     * layout and op i is step i + 1. Request i is for value {@link #arenaValues()}[i].
     */
    List<ArenaPlanner.Request> requests(int stepOffset) {
        int n = graph.values().size();
        int[] first = new int[n];
        int[] last = new int[n];
        Arrays.fill(first, -1);
        first[0] = 0;
        List<Op> ops = graph.ops();
        for (int i = 0; i < ops.size(); i++) {
            Op op = ops.get(i);
            int s = i + 1;
            last[op.src()] = Math.max(last[op.src()], s);
            if (first[op.dst()] < 0) {
                first[op.dst()] = s;
            }
            last[op.dst()] = Math.max(last[op.dst()], s);
        }
        List<ArenaPlanner.Request> out = new ArrayList<>();
        for (int v : arenaValues()) {
            out.add(new ArenaPlanner.Request("value " + v, bytes(v), stepOffset + first[v], stepOffset + last[v]));
        }
        return out;
    }

    /** @return the values that live in the activation arena, in {@link #requests} order */
    int[] arenaValues() {
        int n = graph.values().size();
        int[] out = new int[n - 1];
        for (int v = 0, k = 0; v < n; v++) {
            if (v != graph.output()) {
                out[k++] = v;
            }
        }
        return out;
    }

    /**
     * Points every step at its memory and creates the cuDNN descriptors.
     *
     * @param arenaBase device address of the activation arena
     * @param offsets byte offset of each arena value, in {@link #arenaValues} order
     * @param features device address where sample 0's feature row starts
     * @param weightBase device address of the weight block
     * @param kernels for the kernel steps' launches
     */
    void bind(long arenaBase, long[] offsets, long features, long weightBase, Kernels kernels) {
        int[] arena = arenaValues();
        for (int i = 0; i < arena.length; i++) {
            valueAddress[arena[i]] = arenaBase + offsets[i];
        }
        valueAddress[graph.output()] = features;
        List<Value> values = graph.values();
        for (Step step : steps) {
            switch (step) {
                case ConvStep s -> {
                    s.conv().bind(kernels, valueAddress[s.op().src()], valueAddress[s.op().dst()],
                            weightBase + s.weightOffset(), weightBase + s.biasOffset(), math.mathType());
                }
                case KernelStep s -> {
                    Op op = s.op;
                    Value in = values.get(op.src());
                    Value out = values.get(op.dst());
                    long src = valueAddress[op.src()];
                    long dst = valueAddress[op.dst()];
                    int cin = storedChannels(op.src());
                    s.launch = switch (op) {
                        case Op.MaxPool m -> kernels.launch("maxpool3d_ndhwc", (long) batch * out.spatial() * cin)
                                .ptr(dst).ptr(src).i32(batch).i32(in.d()).i32(in.h()).i32(in.w()).i32(cin)
                                .i32(out.d()).i32(out.h()).i32(out.w()).i32(m.kernel()).i32(m.stride()).i32(m.padding());
                        case Op.GlobalAvgPool g -> kernels.launch("global_avg_pool_ndhwc",
                                        (long) batch * ((cin + 31) / 32) * 256)
                                .ptr(dst).ptr(src).i32(batch).i32((int) in.spatial()).i32(cin).i32(featureRowStride);
                        case Op.Conv c -> kernels.launch("shortcut_a_ndhwc", (long) batch * out.spatial() * c.cout())
                                .ptr(dst).ptr(src).i32(batch).i32(in.d()).i32(in.h()).i32(in.w()).i32(cin)
                                .i32(out.d()).i32(out.h()).i32(out.w()).i32(c.cout()).i32(c.stride()[0]);
                    };
                }
            }
        }
    }

    /**
     * Chooses each convolution's algorithm once, through the plan's search results
     * ({@link CudnnConv#choose}). Never called inside graph capture.
     *
     * @param handle cuDNN handle on {@code stream}
     * @param stream the plan's stream
     * @param scratch device address of a temporary search workspace
     * @param scratchBytes its size: algorithms needing more are not considered
     * @param cache the plan's search results, shared by all its backbones
     * @return the largest workspace any chosen algorithm needs
     */
    long chooseAlgorithms(cudnnContext handle, CUstream_st stream, long scratch, long scratchBytes, FindExCache cache) {
        long most = 0;
        for (Step step : steps) {
            if (step instanceof ConvStep s) {
                most = Math.max(most, s.conv().choose(handle, stream, scratch, scratchBytes, cache, math));
            }
        }
        return most;
    }

    /** Sets the workspace all convolutions share (at least what {@link #chooseAlgorithms} returned). */
    void setWorkspace(long address, long bytes) {
        workspaceAddress = address;
        workspaceBytes = bytes;
    }

    /** @return how each convolution runs, in graph order */
    List<ConvChoice> convolutions() {
        List<ConvChoice> out = new ArrayList<>();
        for (Step step : steps) {
            if (step instanceof ConvStep s) {
                out.add(s.conv().choice());
            }
        }
        return out;
    }

    /**
     * Issues every step on {@code stream} (the cuDNN handle is bound to it); the input must already
     * be in value 0. Allocates nothing; safe to capture.
     */
    void enqueue(cudnnContext handle, CUstream_st stream) {
        Pointer ws = Cuda.at(workspaceAddress);
        for (Step step : steps) {
            switch (step) {
                case ConvStep s -> s.conv().enqueue(handle, stream, ws, workspaceBytes);
                case KernelStep s -> s.launch.enqueue(stream);
            }
        }
    }

    @Override
    public void close() {
        for (Step step : steps) {
            if (step instanceof ConvStep s) {
                s.conv().close();
            }
        }
    }
}
