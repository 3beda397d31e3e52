package org.renalmtl.engine.cuda;

import static org.bytedeco.cuda.global.cudnn.*;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.cuda.cudnn.cudnnConvolutionBwdDataAlgoPerf_t;
import org.bytedeco.cuda.cudnn.cudnnConvolutionStruct;
import org.bytedeco.cuda.cudnn.cudnnFilterStruct;
import org.bytedeco.cuda.cudnn.cudnnTensorStruct;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Pointer;
import org.renalmtl.engine.graph.Activation;
import org.renalmtl.engine.graph.Graph;
import org.renalmtl.engine.graph.Node;
import org.renalmtl.engine.graph.Op;

/**
 * A {@link Op.ConvTranspose3d} on cuDNN: the gradient of a convolution with respect to its input,
 * {@code cudnnConvolutionBackwardData}, which is what a transposed convolution computes. The
 * convolution it is the gradient of maps our output (C_out channels) to our input (C_in): its filter
 * is (K = C_in, C = C_out, k…), exactly PyTorch's layout of a transposed conv's weight, stored NHWC
 * as (C_in, kD, kH, kW, C_out); stride, padding and dilation 1 are the transposed conv's. The output
 * padding needs nothing: the output descriptor carries the output's extents and cuDNN checks that
 * the forward convolution maps them back to the input's. Bias and activation follow in our
 * {@code affine_act}. The algorithm is the fastest usable FindEx result (the plan's {@link FindExCache}).
 */
@SuppressWarnings("deprecation") // the legacy cuDNN API: deprecated in 9.x, still shipped
final class CudnnConvTranspose extends CudnnKernel {
    private final Op.ConvTranspose3d op;
    private final long[] filterDims; // (C_in, C_out, kD, kH, kW)
    private long weightOffset; // in the weight block // (C_in, kD, kH, kW, C_out)
    private long biasOffset = -1; // in the weight block // (C_out), -1 without a bias
    private FloatPointer alpha; // 1
    private FloatPointer beta; // 0: the output is overwritten
    private cudnnTensorStruct dy; // our input
    private cudnnTensorStruct dx; // our output
    private cudnnFilterStruct w;
    private cudnnConvolutionStruct conv;
    private Pointer inp;
    private Pointer outp;
    private Pointer wp;
    private Kernels.Launch affineAct; // bias and activation in place, or null when there is neither

    CudnnConvTranspose(Graph graph, Node node) {
        super(graph, node);
        this.op = (Op.ConvTranspose3d) node.op();
        this.filterDims = graph.constant(op.weight()).shape();
    }

    @Override
    void register(WeightBlock weights) {
        weightOffset = weights.add(CudnnConv.channelsLastFilter(graph.constant(op.weight())));
        if (op.bias() != null) {
            biasOffset = weights.add(graph.constant(op.bias()).toArray());
        }
    }

    @Override
    void bind(CudaContext ctx, DeviceTensor[] in, DeviceTensor out, long weights) {
        alpha = desc.own(new FloatPointer(1f));
        beta = desc.own(new FloatPointer(0f));
        dy = desc.tensor("dy (input)", in[0].dims(), in[0].strides());
        dx = desc.tensor("dx (output)", out.dims(), out.strides());
        w = desc.filter(filterDims);
        conv = desc.convolution(op.padding().toArray(), op.stride().toArray(), new int[] {1, 1, 1});
        desc.math(conv, ctx.math.mathType());
        inp = Cuda.at(in[0].address());
        outp = Cuda.at(out.address());
        wp = Cuda.at(weights + weightOffset);
        if (biasOffset >= 0 || op.activation().kind() != Activation.Kind.NONE) {
            long cout = filterDims[1];
            affineAct = ctx.kernels.affineAct(out.address(), out.address(), 0, biasOffset < 0 ? 0 : weights + biasOffset,
                    out.elements() / cout, fit(cout), code(op.activation()), op.activation().slope());
        }
    }

    @Override
    long choose(CudaContext ctx, long scratch, long scratchBytes, FindExCache cache) {
        FindExCache.Key key = FindExCache.Key.of("backward-data", desc.ints(graph.value(node.output()).shape()),
                desc.ints(filterDims), op.padding().toArray(), op.stride().toArray(), new int[] {1, 1, 1},
                ctx.math.precision());
        ConvCandidate fastest = cache.candidates(key, () -> search(ctx, scratch, scratchBytes)).get(0);
        desc.math(conv, fastest.mathType());
        choice = new ConvChoice(node.name(), fastest, ConvChoice.Mode.UNFUSED);
        Cuda.checkDnn(issue(ctx, Cuda.at(scratch), fastest.memory()), node.name() + ": transposed convolution trial");
        ctx.synchronize(node.name() + ": transposed convolution trial");
        return fastest.memory();
    }

    private List<ConvCandidate> search(CudaContext ctx, long scratch, long scratchBytes) {
        desc.math(conv, ctx.math.mathType());
        int count = CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT;
        try (cudnnConvolutionBwdDataAlgoPerf_t perf = new cudnnConvolutionBwdDataAlgoPerf_t(count);
                IntPointer returned = new IntPointer(1)) {
            Cuda.checkDnn(cudnnFindConvolutionBackwardDataAlgorithmEx(ctx.dnn, w, wp, dy, inp, conv, dx, outp, count,
                    returned, perf, Cuda.at(scratch), scratchBytes), node.name() + ": algorithm search");
            List<ConvCandidate> found = new ArrayList<>();
            for (int i = 0; i < returned.get(); i++) {
                cudnnConvolutionBwdDataAlgoPerf_t r = perf.getPointer(i);
                found.add(new ConvCandidate(r.algo(), r.status(), r.mathType(), r.memory(), r.time(), true));
            }
            return ctx.math.require(found, scratchBytes, node.name());
        }
    }

    @Override
    int issue(CudaContext ctx, Pointer ws, long wsBytes) {
        int st = cudnnConvolutionBackwardData(ctx.dnn, alpha, w, wp, dy, inp, conv, choice.candidate().algo(), ws,
                wsBytes, beta, dx, outp);
        if (st == CUDNN_STATUS_SUCCESS && affineAct != null) {
            affineAct.enqueue(ctx.stream);
        }
        return st;
    }
}
