package org.renalmtl.engine.cuda;

import static org.bytedeco.cuda.global.cudart.cudaStreamSynchronize;
import static org.bytedeco.cuda.global.cudnn.*;

import java.util.ArrayList;
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
import org.renalmtl.engine.Precision;
import org.renalmtl.engine.classifier.Op;
import org.renalmtl.engine.classifier.Value;

/**
 * One convolution of a backbone on cuDNN, activations and weights NDHWC float32: its descriptors
 * (each read back and compared with what was set, {@link DescriptorCheck}), its algorithm (the
 * plan's {@link FindExCache}, then a trial of the fused call), and its issue on a stream.
 *
 * <p>Choosing, at plan time and outside any capture: the usable FindEx results, fastest first, are
 * tried in order with {@code cudnnConvolutionBiasActivationForward}; the first that runs is kept.
 * When the fused call refuses them all (it fuses IDENTITY only with {@code IMPLICIT_PRECOMP_GEMM},
 * and not every shape or math type), the fastest runs as {@code cudnnConvolutionForward} with β = 1
 * over y holding the residual, then our {@code bias_act} adds the bias and applies ReLU.
 */
@SuppressWarnings("deprecation") // the legacy cuDNN API: deprecated in 9.x, still shipped and the simplest fused conv
final class CudnnConv implements AutoCloseable {
    private final String layer;
    private final Op.Conv op;
    private final ConvEpilogue epilogue;
    private final int[] xDims; // (N, C stored, D, H, W)
    private final int[] yDims; // (N, K, D', H', W')
    private final int[] wDims; // (K, C stored, kD, kH, kW)
    private final List<Pointer> owned = new ArrayList<>(); // descriptors and host scalars to destroy
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
    private Kernels.Launch biasAct; // the plain path's bias and ReLU // (N·D'·H'·W', K) in place
    private ConvChoice choice;

    /**
     * @param layer name for messages and reports
     * @param op the graph's convolution (BatchNorm folded)
     * @param batch samples
     * @param cin input channels as stored (value 0 is padded to a multiple of 8)
     * @param in input value
     * @param out output value
     */
    CudnnConv(String layer, Op.Conv op, int batch, int cin, Value in, Value out) {
        this.layer = layer;
        this.op = op;
        this.epilogue = ConvEpilogue.of(op);
        this.xDims = new int[] {batch, cin, in.d(), in.h(), in.w()};
        this.yDims = new int[] {batch, op.cout(), out.d(), out.h(), out.w()};
        this.wDims = new int[] {op.cout(), cin, op.kernel()[0], op.kernel()[1], op.kernel()[2]};
    }

    private <T extends Pointer> T own(T p) {
        owned.add(p);
        return p;
    }

    /**
     * Creates the descriptors on the layer's memory and checks each by reading it back.
     *
     * @param kernels for the plain path's {@code bias_act}
     * @param xAddress input // (N, D, H, W, C)
     * @param yAddress output, holding the residual before the layer when it has one // (N, D', H', W', K)
     * @param wAddress weights // (K, kD, kH, kW, C)
     * @param biasAddress folded bias // (K)
     * @param mathType the math type of the search
     */
    void bind(Kernels kernels, long xAddress, long yAddress, long wAddress, long biasAddress, int mathType) {
        alpha = own(new FloatPointer(1f));
        residualScale = own(new FloatPointer(epilogue.residualScale()));
        x = tensor("x", xDims);
        y = tensor("y", yDims);
        bias = tensor("bias", new int[] {1, op.cout(), 1, 1, 1});
        w = own(new cudnnFilterStruct());
        Cuda.checkDnn(cudnnCreateFilterDescriptor(w), "create filter descriptor");
        Cuda.checkDnn(cudnnSetFilterNdDescriptor(w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NHWC, 5, wDims),
                layer + ": filter descriptor");
        int[] type = new int[1];
        int[] format = new int[1];
        int[] rank = new int[1];
        int[] dims = new int[5];
        Cuda.checkDnn(cudnnGetFilterNdDescriptor(w, 5, type, format, rank, dims),
                layer + ": read back the filter descriptor");
        new DescriptorCheck(layer, "filter").expect("data type", CUDNN_DATA_FLOAT, type[0])
                .expect("format", CUDNN_TENSOR_NHWC, format[0]).expect("rank", 5, rank[0]).expect("dims", wDims, dims)
                .verify();
        conv = own(new cudnnConvolutionStruct());
        Cuda.checkDnn(cudnnCreateConvolutionDescriptor(conv), "create convolution descriptor");
        Cuda.checkDnn(cudnnSetConvolutionNdDescriptor(conv, 3, op.padding(), op.stride(), op.dilation(),
                CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT), layer + ": convolution descriptor");
        checkConvolution();
        setMath(mathType);
        act = own(new cudnnActivationStruct());
        Cuda.checkDnn(cudnnCreateActivationDescriptor(act), "create activation descriptor");
        Cuda.checkDnn(cudnnSetActivationDescriptor(act, epilogue.activationMode(), epilogue.nanPropagation(),
                epilogue.coefficient()), layer + ": activation descriptor");
        checkActivation();
        xp = Cuda.at(xAddress);
        yp = Cuda.at(yAddress);
        wp = Cuda.at(wAddress);
        bp = Cuda.at(biasAddress);
        int rows = yDims[0] * yDims[2] * yDims[3] * yDims[4];
        biasAct = kernels.launch("bias_act", (long) rows * op.cout()).ptr(yAddress).ptr(biasAddress).i32(rows)
                .i32(op.cout()).i32(epilogue.biasActRelu());
    }

    private cudnnTensorStruct tensor(String role, int[] dims) {
        cudnnTensorStruct t = own(new cudnnTensorStruct());
        Cuda.checkDnn(cudnnCreateTensorDescriptor(t), "create tensor descriptor");
        Cuda.checkDnn(cudnnSetTensorNdDescriptorEx(t, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, 5, dims),
                layer + ": " + role + " tensor descriptor");
        checkTensor(layer, role, t, dims);
        return t;
    }

    /**
     * Reads a tensor descriptor back and compares it with float32 NDHWC of {@code dims}.
     *
     * @throws CudaException naming {@code layer} and {@code role} on any difference
     */
    static void checkTensor(String layer, String role, cudnnTensorStruct t, int[] dims) {
        int[] type = new int[1];
        int[] rank = new int[1];
        int[] got = new int[5];
        int[] strides = new int[5];
        Cuda.checkDnn(cudnnGetTensorNdDescriptor(t, 5, type, rank, got, strides), layer + ": read back the " + role
                + " tensor descriptor");
        new DescriptorCheck(layer, role + " tensor").expect("data type", CUDNN_DATA_FLOAT, type[0])
                .expect("rank", 5, rank[0]).expect("dims", dims, got)
                .expectStrides(dims, DescriptorCheck.ndhwcStrides(dims), strides).verify();
    }

    private void checkConvolution() {
        int[] length = new int[1];
        int[] padding = new int[3];
        int[] stride = new int[3];
        int[] dilation = new int[3];
        int[] mode = new int[1];
        int[] compute = new int[1];
        Cuda.checkDnn(cudnnGetConvolutionNdDescriptor(conv, 3, length, padding, stride, dilation, mode, compute),
                layer + ": read back the convolution descriptor");
        new DescriptorCheck(layer, "convolution").expect("spatial rank", 3, length[0])
                .expect("padding", op.padding(), padding).expect("stride", op.stride(), stride)
                .expect("dilation", op.dilation(), dilation).expect("mode", CUDNN_CROSS_CORRELATION, mode[0])
                .expect("compute type", CUDNN_DATA_FLOAT, compute[0]).verify();
    }

    private void checkActivation() {
        int[] mode = new int[1];
        int[] nan = new int[1];
        double[] coef = new double[1];
        Cuda.checkDnn(cudnnGetActivationDescriptor(act, mode, nan, coef),
                layer + ": read back the activation descriptor");
        new DescriptorCheck(layer, "activation").expect("mode", epilogue.activationMode(), mode[0])
                .expect("NaN option", epilogue.nanPropagation(), nan[0])
                .expect("coefficient", epilogue.coefficient(), coef[0]).verify();
    }

    private void setMath(int mathType) {
        Cuda.checkDnn(cudnnSetConvolutionMathType(conv, mathType), layer + ": math type");
        int[] got = new int[1];
        Cuda.checkDnn(cudnnGetConvolutionMathType(conv, got), layer + ": read back the math type");
        new DescriptorCheck(layer, "convolution").expect("math type", mathType, got[0]).verify();
    }

    /** @return what this layer's algorithm search depends on */
    FindExCache.Key key(Precision precision) {
        return FindExCache.Key.of(xDims, wDims, op.padding(), op.stride(), op.dilation(), precision);
    }

    /**
     * Chooses how the layer runs (see the class comment). Runs convolutions on the bound buffers, so
     * call it before any real data is there; never inside graph capture.
     *
     * @param handle cuDNN handle on {@code stream}
     * @param stream the plan's stream
     * @param scratch device address of a temporary workspace for the search and the trials
     * @param scratchBytes its size: algorithms needing more are not considered
     * @param cache the plan's search results
     * @param use the plan's math types
     * @return workspace bytes the chosen algorithm needs
     */
    long choose(cudnnContext handle, CUstream_st stream, long scratch, long scratchBytes, FindExCache cache,
            ConvMath.Use use) {
        List<ConvCandidate> candidates = cache.candidates(key(use.precision()),
                () -> search(handle, scratch, scratchBytes, use));
        Pointer ws = Cuda.at(scratch);
        List<String> refused = new ArrayList<>();
        for (ConvCandidate c : candidates) {
            setMath(c.mathType());
            int st = issue(handle, stream, ConvChoice.Mode.FUSED, c.algo(), ws, c.memory());
            if (st == CUDNN_STATUS_SUCCESS) {
                Cuda.check(cudaStreamSynchronize(stream), layer + ": fused convolution trial");
                use(ConvChoice.Mode.FUSED, c);
                return c.memory();
            }
            refused.add(c.algoName() + ": " + cudnnGetErrorString(st).getString());
        }
        ConvCandidate fastest = candidates.get(0);
        setMath(fastest.mathType());
        Cuda.checkDnn(issue(handle, stream, ConvChoice.Mode.UNFUSED, fastest.algo(), ws, fastest.memory()),
                layer + ": plain convolution (the fused call refused " + refused + ")");
        Cuda.check(cudaStreamSynchronize(stream), layer + ": plain convolution trial");
        use(ConvChoice.Mode.UNFUSED, fastest);
        return fastest.memory();
    }

    private List<ConvCandidate> search(cudnnContext handle, long scratch, long scratchBytes, ConvMath.Use use) {
        setMath(use.mathType());
        int count = CUDNN_CONVOLUTION_FWD_ALGO_COUNT;
        try (cudnnConvolutionFwdAlgoPerf_t perf = new cudnnConvolutionFwdAlgoPerf_t(count);
                IntPointer returned = new IntPointer(1)) {
            Cuda.checkDnn(cudnnFindConvolutionForwardAlgorithmEx(handle, x, xp, w, wp, conv, y, yp, count, returned,
                    perf, Cuda.at(scratch), scratchBytes), layer + ": algorithm search");
            List<ConvCandidate> found = new ArrayList<>();
            for (int i = 0; i < returned.get(); i++) {
                cudnnConvolutionFwdAlgoPerf_t r = perf.getPointer(i);
                found.add(new ConvCandidate(r.algo(), r.status(), r.mathType(), r.memory(), r.time()));
            }
            List<ConvCandidate> usable = use.usable(found, scratchBytes);
            if (usable.isEmpty()) {
                throw new CudaException("cuDNN: no forward algorithm for " + layer + " within " + scratchBytes
                        + " bytes of workspace at precision " + use.precision().label() + " (accepted math types "
                        + use.accepted().stream().map(ConvMath::mathName).toList() + "); the search found " + found);
            }
            return usable;
        }
    }

    /**
     * Makes this layer run as {@code mode} with {@code candidate} (the math type is set on the
     * descriptor). {@link #choose} calls it; a test may switch a layer to the other mode.
     */
    void use(ConvChoice.Mode mode, ConvCandidate candidate) {
        setMath(candidate.mathType());
        choice = new ConvChoice(layer, candidate, mode);
    }

    private int issue(cudnnContext handle, CUstream_st stream, ConvChoice.Mode mode, int algo, Pointer ws,
            long wsBytes) {
        return switch (mode) {
            case FUSED -> cudnnConvolutionBiasActivationForward(handle, alpha, x, xp, w, wp, conv, algo, ws, wsBytes,
                    residualScale, y, yp, bias, bp, act, y, yp);
            case UNFUSED -> {
                int st = cudnnConvolutionForward(handle, alpha, x, xp, w, wp, conv, algo, ws, wsBytes, residualScale,
                        y, yp);
                if (st == CUDNN_STATUS_SUCCESS) {
                    biasAct.enqueue(stream);
                }
                yield st;
            }
        };
    }

    /** @return how the layer runs; set by {@link #choose} */
    ConvChoice choice() {
        return choice;
    }

    /**
     * Issues the layer as chosen on {@code stream} (the handle is bound to it). Allocates nothing;
     * safe to capture.
     *
     * @param workspace the shared workspace
     * @param workspaceBytes its size (at least what {@link #choose} returned)
     */
    void enqueue(cudnnContext handle, CUstream_st stream, Pointer workspace, long workspaceBytes) {
        Cuda.checkDnn(issue(handle, stream, choice.mode(), choice.candidate().algo(), workspace, workspaceBytes), layer);
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
