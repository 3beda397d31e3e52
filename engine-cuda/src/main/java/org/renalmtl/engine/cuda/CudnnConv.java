package org.renalmtl.engine.cuda;

import static org.bytedeco.cuda.global.cudnn.*;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.cuda.cudnn.cudnnActivationStruct;
import org.bytedeco.cuda.cudnn.cudnnConvolutionFwdAlgoPerf_t;
import org.bytedeco.cuda.cudnn.cudnnConvolutionStruct;
import org.bytedeco.cuda.cudnn.cudnnFilterStruct;
import org.bytedeco.cuda.cudnn.cudnnTensorStruct;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Pointer;
import org.renalmtl.engine.graph.Graph;
import org.renalmtl.engine.graph.Node;
import org.renalmtl.engine.graph.Op;
import org.renalmtl.weights.Tensor;

/**
 * A {@link Op.Conv3d} on cuDNN, activations NDHWC and weights (K, kD, kH, kW, C), float32: its
 * descriptors (each read back, {@link CudnnDescriptors}), its algorithm (the plan's
 * {@link FindExCache}, then a trial of the fused call) and its issue on the stream.
 *
 * <p>Choosing, at plan time and outside any capture: when the epilogue is one the fused call has
 * (ReLU or identity, {@link ConvEpilogue#fusable}), the usable FindEx results, fastest first, are
 * tried in order with {@code cudnnConvolutionBiasActivationForward}; the first that runs is kept.
 * Otherwise, or when the fused call refuses them all (it fuses IDENTITY only with
 * {@code IMPLICIT_PRECOMP_GEMM}, and not every shape or math type), the fastest runs as
 * {@code cudnnConvolutionForward} with β = 1 over y holding the residual, then our {@code affine_act}
 * adds the bias and applies the activation. A residual the schedule could not overwrite in place is
 * copied into y first ({@code copy_nd}), so both ways read z from y.
 */
@SuppressWarnings("deprecation") // the legacy cuDNN API: deprecated in 9.x, still shipped and the simplest fused conv
final class CudnnConv extends CudnnKernel {
    private final Op.Conv3d op;
    private final ConvEpilogue epilogue;
    private final long[] filterDims; // (K, C, kD, kH, kW)
    private long weightOffset; // in the weight block // (K, kD, kH, kW, C)
    private long biasOffset; // in the weight block // (K); zeros when the conv has none (the fused call needs one)
    private FloatPointer alpha; // 1: α1 of both calls
    private FloatPointer residualScale; // α2 of the fused call, β of the plain one
    private cudnnTensorStruct x;
    private cudnnTensorStruct y;
    private cudnnTensorStruct bias;
    private cudnnFilterStruct w;
    private cudnnConvolutionStruct conv;
    private cudnnActivationStruct act;
    private Pointer xp;
    private Pointer yp;
    private Pointer wp;
    private Pointer bp;
    private Kernels.Launch residualCopy; // z into y when the schedule put y elsewhere, else null
    private Kernels.Launch affineAct; // the plain path's bias and activation // (N·D'·H'·W', K) in place

    CudnnConv(Graph graph, Node node) {
        super(graph, node);
        this.op = (Op.Conv3d) node.op();
        this.epilogue = ConvEpilogue.of(op);
        this.filterDims = graph.constant(op.weight()).shape();
    }

    @Override
    void register(WeightBlock weights) {
        weightOffset = weights.add(channelsLastFilter(graph.constant(op.weight())));
        biasOffset = weights.add(op.bias() == null ? new float[(int) filterDims[0]] : graph.constant(op.bias()).toArray());
    }

    /**
     * @param t a filter // (O, I, kD, kH, kW), PyTorch's order
     * @return its elements in cuDNN's NHWC filter order // (O, kD, kH, kW, I)
     */
    static float[] channelsLastFilter(Tensor t) {
        long[] s = t.shape();
        int o = (int) s[0];
        int in = (int) s[1];
        int taps = (int) (s[2] * s[3] * s[4]);
        float[] src = t.toArray();
        float[] out = new float[src.length];
        for (int a = 0; a < o; a++) {
            for (int i = 0; i < in; i++) {
                for (int k = 0; k < taps; k++) {
                    out[((a * taps) + k) * in + i] = src[((a * in) + i) * taps + k];
                }
            }
        }
        return out;
    }

    @Override
    void bind(CudaContext ctx, DeviceTensor[] in, DeviceTensor out, long weights) {
        alpha = desc.own(new FloatPointer(1f));
        residualScale = desc.own(new FloatPointer(epilogue.residualScale()));
        x = desc.tensor("x", in[0].dims(), in[0].strides());
        y = desc.tensor("y", out.dims(), out.strides());
        bias = desc.bias(filterDims[0]);
        w = desc.filter(filterDims);
        conv = desc.convolution(op.padding().toArray(), op.stride().toArray(), op.dilation().toArray());
        desc.math(conv, ctx.math.mathType());
        if (epilogue.fusable()) {
            act = desc.activation(epilogue);
        }
        xp = Cuda.at(in[0].address());
        yp = Cuda.at(out.address());
        wp = Cuda.at(weights + weightOffset);
        bp = Cuda.at(weights + biasOffset);
        if (op.residual() && in[1].address() != out.address()) {
            residualCopy = CudaCopy.copy(ctx.kernels, out, in[1]);
        }
        long rows = out.elements() / filterDims[0];
        affineAct = ctx.kernels.affineAct(out.address(), out.address(), 0, weights + biasOffset, rows,
                fit(filterDims[0]), epilogue.actCode(), op.activation().slope());
    }

    /** @return what this layer's algorithm search depends on */
    FindExCache.Key key(ConvMath.Use use) {
        return FindExCache.Key.of("forward", desc.ints(graph.value(node.input(0)).shape()), desc.ints(filterDims),
                op.padding().toArray(), op.stride().toArray(), op.dilation().toArray(), use.precision());
    }

    @Override
    long choose(CudaContext ctx, long scratch, long scratchBytes, FindExCache cache) {
        List<ConvCandidate> candidates = cache.candidates(key(ctx.math), () -> search(ctx, scratch, scratchBytes));
        Pointer ws = Cuda.at(scratch);
        List<String> refused = new ArrayList<>();
        if (epilogue.fusable()) {
            for (ConvCandidate c : candidates) {
                desc.math(conv, c.mathType());
                int st = issueAs(ctx, ConvChoice.Mode.FUSED, c.algo(), ws, c.memory());
                if (st == CUDNN_STATUS_SUCCESS) {
                    ctx.synchronize(node.name() + ": fused convolution trial");
                    use(ConvChoice.Mode.FUSED, c);
                    return c.memory();
                }
                refused.add(c.algoName() + ": " + cudnnGetErrorString(st).getString());
            }
        } else {
            refused.add("the fused call has no " + op.activation());
        }
        ConvCandidate fastest = candidates.get(0);
        desc.math(conv, fastest.mathType());
        Cuda.checkDnn(issueAs(ctx, ConvChoice.Mode.UNFUSED, fastest.algo(), ws, fastest.memory()),
                node.name() + ": plain convolution (the fused call refused " + refused + ")");
        ctx.synchronize(node.name() + ": plain convolution trial");
        use(ConvChoice.Mode.UNFUSED, fastest);
        return fastest.memory();
    }

    private List<ConvCandidate> search(CudaContext ctx, long scratch, long scratchBytes) {
        desc.math(conv, ctx.math.mathType());
        int count = CUDNN_CONVOLUTION_FWD_ALGO_COUNT;
        try (cudnnConvolutionFwdAlgoPerf_t perf = new cudnnConvolutionFwdAlgoPerf_t(count);
                IntPointer returned = new IntPointer(1)) {
            Cuda.checkDnn(cudnnFindConvolutionForwardAlgorithmEx(ctx.dnn, x, xp, w, wp, conv, y, yp, count, returned,
                    perf, Cuda.at(scratch), scratchBytes), node.name() + ": algorithm search");
            List<ConvCandidate> found = new ArrayList<>();
            for (int i = 0; i < returned.get(); i++) {
                cudnnConvolutionFwdAlgoPerf_t r = perf.getPointer(i);
                found.add(new ConvCandidate(r.algo(), r.status(), r.mathType(), r.memory(), r.time()));
            }
            return ctx.math.require(found, scratchBytes, node.name());
        }
    }

    /**
     * Makes this layer run as {@code mode} with {@code candidate} (the math type is set on the
     * descriptor). {@link #choose} calls it; a test may switch a layer to the other mode.
     */
    void use(ConvChoice.Mode mode, ConvCandidate candidate) {
        desc.math(conv, candidate.mathType());
        choice = new ConvChoice(node.name(), candidate, mode);
    }

    private int issueAs(CudaContext ctx, ConvChoice.Mode mode, int algo, Pointer ws, long wsBytes) {
        if (residualCopy != null) {
            residualCopy.enqueue(ctx.stream);
        }
        return switch (mode) {
            case FUSED -> cudnnConvolutionBiasActivationForward(ctx.dnn, alpha, x, xp, w, wp, conv, algo, ws, wsBytes,
                    residualScale, y, yp, bias, bp, act, y, yp);
            case UNFUSED -> {
                int st = cudnnConvolutionForward(ctx.dnn, alpha, x, xp, w, wp, conv, algo, ws, wsBytes, residualScale,
                        y, yp);
                if (st == CUDNN_STATUS_SUCCESS) {
                    affineAct.enqueue(ctx.stream);
                }
                yield st;
            }
        };
    }

    @Override
    int issue(CudaContext ctx, Pointer ws, long wsBytes) {
        return issueAs(ctx, choice.mode(), choice.candidate().algo(), ws, wsBytes);
    }
}
