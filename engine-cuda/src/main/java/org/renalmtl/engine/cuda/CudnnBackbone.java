package org.renalmtl.engine.cuda;

import static org.bytedeco.cuda.global.cudnn.*;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.cuda.cudnn.cudnnActivationStruct;
import org.bytedeco.cuda.cudnn.cudnnContext;
import org.bytedeco.cuda.cudnn.cudnnConvolutionFwdAlgoPerf_t;
import org.bytedeco.cuda.cudnn.cudnnConvolutionStruct;
import org.bytedeco.cuda.cudnn.cudnnFilterStruct;
import org.bytedeco.cuda.cudnn.cudnnTensorStruct;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.SizeTPointer;
import org.renalmtl.engine.Precision;
import org.renalmtl.engine.classifier.BackboneGraph;
import org.renalmtl.engine.classifier.Op;
import org.renalmtl.engine.classifier.Value;
import org.renalmtl.engine.plan.ArenaPlanner;

/**
 * One backbone on cuDNN and our kernels for a fixed batch, activations NDHWC (channels last, what
 * tensor cores want; NCDHW would make cuDNN insert transposes). Mirrors the CPU's
 * {@code DnnlBackbone}: {@link #requests} tells the planner what activation memory it needs (same
 * liveness), {@link #bind} points every step at its planned place, {@link #chooseAlgorithms} runs
 * cuDNN's algorithm search once per layer, {@link #enqueue} issues the steps and allocates nothing.
 *
 * <p>Convolutions: {@code cudnnConvolutionBiasActivationForward} with the graph's folded BatchNorm
 * as bias, the residual as {@code z} aliasing {@code y} (the graph writes a block's last conv in
 * place over its shortcut), ReLU, or IDENTITY for the shortcut-B convs (cuDNN allows IDENTITY only
 * with {@code IMPLICIT_PRECOMP_GEMM}). Max-pool, type-A shortcut and the global average pool run
 * our kernels. Value 0, the input, is stored with its channels zero-padded to a multiple of 8 (the
 * stem's weights likewise), written by the network's {@code ncdhw_to_ndhwc} launch.
 */
@SuppressWarnings("deprecation") // the legacy cuDNN API: deprecated in 9.x, still shipped and the simplest fused conv
final class CudnnBackbone implements AutoCloseable {
    private final BackboneGraph graph;
    private final int batch;
    private final int featureRowStride;
    private final int inputChannels; // value 0's stored channels: in_channels rounded up to 8
    private final Precision precision;
    private final List<Step> steps = new ArrayList<>();
    private final long[] valueAddress; // per value: device address, set by bind()
    private final List<Pointer> owned = new ArrayList<>(); // descriptors and host scalars to destroy
    private final FloatPointer one = own(new FloatPointer(1f));
    private final FloatPointer zero = own(new FloatPointer(0f));
    private long workspaceAddress;
    private long workspaceBytes;

    /** A step of the backbone. */
    private sealed interface Step permits ConvStep, KernelStep {}

    /** A cuDNN fused convolution. */
    private static final class ConvStep implements Step {
        final Op.Conv op;
        final long weightOffset; // into the weight block // (cout, kd, kh, kw, cin stored)
        final long biasOffset; // (cout)
        cudnnTensorStruct x;
        cudnnTensorStruct y;
        cudnnTensorStruct bias;
        cudnnFilterStruct w;
        cudnnConvolutionStruct conv;
        cudnnActivationStruct act;
        int algo;
        long workspace;
        boolean fused = true; // false: plain convolution, then bias_act (IDENTITY without PRECOMP_GEMM support)
        Kernels.Launch biasAct; // the unfused path's bias add // (batch·spatial, cout) in place
        Pointer xp;
        Pointer yp;
        Pointer wp;
        Pointer bp;

        ConvStep(Op.Conv op, long weightOffset, long biasOffset) {
            this.op = op;
            this.weightOffset = weightOffset;
            this.biasOffset = biasOffset;
        }
    }

    /** One of our kernels; its launch is built at bind time. */
    private static final class KernelStep implements Step {
        final Op op;
        Kernels.Launch launch;

        KernelStep(Op op) {
            this.op = op;
        }
    }

    /**
     * @param graph the backbone
     * @param batch samples per forward (cases × phases for {@code batch} fusion)
     * @param featureRowStride elements between consecutive samples' feature rows in the output
     * @param precision convolution math
     * @param weights receives the reordered, folded weights
     */
    CudnnBackbone(BackboneGraph graph, int batch, int featureRowStride, Precision precision, WeightBlock weights) {
        this.graph = graph;
        this.batch = batch;
        this.featureRowStride = featureRowStride;
        this.precision = precision;
        this.inputChannels = (graph.values().get(0).channels() + 7) / 8 * 8;
        this.valueAddress = new long[graph.values().size()];
        for (Op op : graph.ops()) {
            if (op instanceof Op.Conv c && !c.identityShortcut()) {
                int cin = storedChannels(c.src());
                steps.add(new ConvStep(c, weights.add(ndhwcWeights(c, cin)), weights.add(c.bias())));
            } else {
                steps.add(new KernelStep(op));
            }
        }
    }

    private <T extends Pointer> T own(T p) {
        owned.add(p);
        return p;
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

    private static int[] dims(int n, int c, Value v) {
        return new int[] {n, c, v.d(), v.h(), v.w()};
    }

    private cudnnTensorStruct tensor(int[] dims) {
        cudnnTensorStruct t = own(new cudnnTensorStruct());
        Cuda.checkDnn(cudnnCreateTensorDescriptor(t), "create tensor descriptor");
        Cuda.checkDnn(cudnnSetTensorNdDescriptorEx(t, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, 5, dims),
                "tensor descriptor " + Arrays.toString(dims));
        return t;
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
                    bindConv(s, weightBase);
                    Value out = values.get(s.op.dst());
                    int rows = Math.toIntExact(batch * out.spatial());
                    s.biasAct = kernels.launch("bias_act", (long) rows * s.op.cout()).ptr(valueAddress[s.op.dst()])
                            .ptr(weightBase + s.biasOffset).i32(rows).i32(s.op.cout()).i32(0);
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

    private void bindConv(ConvStep s, long weightBase) {
        Op.Conv c = s.op;
        Value in = graph.values().get(c.src());
        Value out = graph.values().get(c.dst());
        int cin = storedChannels(c.src());
        s.x = tensor(dims(batch, cin, in));
        s.y = tensor(dims(batch, c.cout(), out));
        s.bias = tensor(new int[] {1, c.cout(), 1, 1, 1});
        s.w = own(new cudnnFilterStruct());
        Cuda.checkDnn(cudnnCreateFilterDescriptor(s.w), "create filter descriptor");
        Cuda.checkDnn(cudnnSetFilterNdDescriptor(s.w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NHWC, 5,
                new int[] {c.cout(), cin, c.kernel()[0], c.kernel()[1], c.kernel()[2]}), c.name() + ": filter descriptor");
        s.conv = own(new cudnnConvolutionStruct());
        Cuda.checkDnn(cudnnCreateConvolutionDescriptor(s.conv), "create convolution descriptor");
        Cuda.checkDnn(cudnnSetConvolutionNdDescriptor(s.conv, 3, c.padding(), c.stride(), c.dilation(),
                CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT), c.name() + ": convolution descriptor");
        Cuda.checkDnn(cudnnSetConvolutionMathType(s.conv, mathType(precision)), c.name() + ": math type");
        s.act = own(new cudnnActivationStruct());
        Cuda.checkDnn(cudnnCreateActivationDescriptor(s.act), "create activation descriptor");
        // NaN propagates through ReLU, as in PyTorch and our CPU twins.
        Cuda.checkDnn(cudnnSetActivationDescriptor(s.act, c.relu() ? CUDNN_ACTIVATION_RELU : CUDNN_ACTIVATION_IDENTITY,
                CUDNN_PROPAGATE_NAN, 0.0), c.name() + ": activation descriptor");
        s.xp = Cuda.at(valueAddress[c.src()]);
        s.yp = Cuda.at(valueAddress[c.dst()]);
        s.wp = Cuda.at(weightBase + s.weightOffset);
        s.bp = Cuda.at(weightBase + s.biasOffset);
    }

    /** @return cuDNN math type of a precision */
    static int mathType(Precision p) {
        return switch (p) {
            case FP32 -> CUDNN_FMA_MATH; // forbids TF32: strict fp32
            case TF32 -> CUDNN_DEFAULT_MATH; // allows TF32 tensor cores for fp32 data
            case FP16 -> CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;
            case BF16 -> throw new UnsupportedOperationException("precision bf16 is not available in this build");
        };
    }

    /**
     * Chooses each convolution's algorithm once: {@code cudnnFindConvolutionForwardAlgorithmEx}
     * (which runs the candidates on the bound buffers, so call it before any real data is there)
     * for ReLU layers, {@code IMPLICIT_PRECOMP_GEMM} for IDENTITY ones (cuDNN's rule). Never called
     * inside graph capture.
     *
     * @param handle cuDNN handle on the plan's stream
     * @param scratch device address of a temporary search workspace
     * @param scratchBytes its size: algorithms needing more are not considered
     * @return the largest workspace any chosen algorithm needs
     */
    long chooseAlgorithms(cudnnContext handle, long scratch, long scratchBytes) {
        long most = 0;
        int count = CUDNN_CONVOLUTION_FWD_ALGO_COUNT;
        try (cudnnConvolutionFwdAlgoPerf_t perf = new cudnnConvolutionFwdAlgoPerf_t(count);
                IntPointer returned = new IntPointer(1);
                SizeTPointer size = new SizeTPointer(1)) {
            for (Step step : steps) {
                if (!(step instanceof ConvStep s)) {
                    continue;
                }
                if (!s.op.relu()) {
                    // cuDNN fuses IDENTITY only with IMPLICIT_PRECOMP_GEMM; where that algorithm
                    // does not support the shape/layout, convolve plainly and add the bias with
                    // our bias_act over the NDHWC output seen as (batch·spatial, cout).
                    s.algo = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM;
                    int st = cudnnGetConvolutionForwardWorkspaceSize(handle, s.x, s.w, s.conv, s.y, s.algo, size);
                    if (st == CUDNN_STATUS_SUCCESS && size.get() <= scratchBytes) {
                        s.workspace = size.get();
                        most = Math.max(most, s.workspace);
                        continue;
                    }
                    s.fused = false;
                }
                Cuda.checkDnn(cudnnFindConvolutionForwardAlgorithmEx(handle, s.x, s.xp, s.w, s.wp, s.conv, s.y, s.yp,
                        count, returned, perf, Cuda.at(scratch), scratchBytes), s.op.name() + ": algorithm search");
                int chosen = -1;
                for (int i = 0; i < returned.get() && chosen < 0; i++) {
                    cudnnConvolutionFwdAlgoPerf_t r = perf.getPointer(i);
                    boolean strictOk = precision != Precision.FP32 || r.mathType() == CUDNN_FMA_MATH
                            || r.mathType() == CUDNN_DEFAULT_MATH;
                    if (r.status() == CUDNN_STATUS_SUCCESS && r.memory() <= scratchBytes && strictOk) {
                        chosen = i;
                    }
                }
                if (chosen < 0) {
                    throw new CudaException("cuDNN: no forward algorithm for " + s.op.name() + " within "
                            + scratchBytes + " bytes of workspace at precision " + precision.label());
                }
                // The algorithm id, not the count (the MNISTCUDNN sample's bug), and the math
                // type it was timed with, as PyTorch does.
                cudnnConvolutionFwdAlgoPerf_t r = perf.getPointer(chosen);
                s.algo = r.algo();
                s.workspace = r.memory();
                Cuda.checkDnn(cudnnSetConvolutionMathType(s.conv, r.mathType()), s.op.name() + ": math type");
                most = Math.max(most, s.workspace);
            }
        }
        return most;
    }

    /** Sets the workspace all convolutions share (at least what {@link #chooseAlgorithms} returned). */
    void setWorkspace(long address, long bytes) {
        workspaceAddress = address;
        workspaceBytes = bytes;
    }

    /** @return cuDNN's chosen algorithm per convolution, e.g. {@code layer1.0.conv1=1} ({@code +bias_act} when unfused) */
    List<String> algorithms() {
        List<String> out = new ArrayList<>();
        for (Step step : steps) {
            if (step instanceof ConvStep s) {
                out.add(s.op.name() + "=" + s.algo + (s.fused ? "" : "+bias_act"));
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
                case ConvStep s when s.fused -> Cuda.checkDnn(cudnnConvolutionBiasActivationForward(handle, one, s.x,
                        s.xp, s.w, s.wp, s.conv, s.algo, ws, workspaceBytes, s.op.residual() >= 0 ? one : zero, s.y, s.yp,
                        s.bias, s.bp, s.act, s.y, s.yp), s.op.name());
                case ConvStep s -> {
                    Cuda.checkDnn(cudnnConvolutionForward(handle, one, s.x, s.xp, s.w, s.wp, s.conv, s.algo, ws,
                            workspaceBytes, zero, s.y, s.yp), s.op.name());
                    s.biasAct.enqueue(stream);
                }
                case KernelStep s -> s.launch.enqueue(stream);
            }
        }
    }

    @Override
    public void close() {
        for (int i = owned.size() - 1; i >= 0; i--) {
            switch (owned.get(i)) {
                case cudnnTensorStruct t -> cudnnDestroyTensorDescriptor(t);
                case cudnnFilterStruct f -> cudnnDestroyFilterDescriptor(f);
                case cudnnConvolutionStruct c -> cudnnDestroyConvolutionDescriptor(c);
                case cudnnActivationStruct a -> cudnnDestroyActivationDescriptor(a);
                case Pointer p -> p.close();
            }
        }
        owned.clear();
    }
}
