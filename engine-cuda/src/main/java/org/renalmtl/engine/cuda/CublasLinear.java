package org.renalmtl.engine.cuda;

import static org.bytedeco.cuda.global.cublas.CUBLAS_OP_N;
import static org.bytedeco.cuda.global.cublas.CUBLAS_OP_T;
import static org.bytedeco.cuda.global.cublas.cublasSgemm_v2;

import org.bytedeco.javacpp.FloatPointer;
import org.renalmtl.engine.graph.Activation;
import org.renalmtl.engine.graph.Graph;
import org.renalmtl.engine.graph.Node;
import org.renalmtl.engine.graph.Op;

/**
 * A {@link Op.Linear} as one cuBLAS SGEMM, {@code y = x · Wᵀ} (rows may be strided: a concat slice),
 * then our {@code affine_act} for the bias and the activation; its CPU twin is {@code Head.linear}.
 */
final class CublasLinear extends CudaKernel {
    private final Op.Linear op;
    private final int outF; // output features
    private final int inF; // input features
    private long weightOffset; // in the weight block // (out, in), as the file has it
    private long biasOffset = -1; // // (out), -1 without a bias
    private FloatPointer one;
    private FloatPointer zero;
    private FloatPointer w;
    private FloatPointer x;
    private FloatPointer y;
    private int rows;
    private int ldx;
    private int ldy;
    private Kernels.Launch affineAct; // null when there is neither bias nor activation

    CublasLinear(Graph graph, Node node) {
        super(graph, node);
        this.op = (Op.Linear) node.op();
        long[] shape = graph.constant(op.weight()).shape();
        this.outF = fit(shape[0]);
        this.inF = fit(shape[1]);
    }

    @Override
    void register(WeightBlock weights) {
        weightOffset = weights.add(graph.constant(op.weight()).toArray());
        if (op.bias() != null) {
            biasOffset = weights.add(graph.constant(op.bias()).toArray());
        }
    }

    @Override
    void bind(CudaContext ctx, DeviceTensor[] in, DeviceTensor out, long weights) {
        if (out.stride(1) != 1 || in[0].stride(1) != 1 || (out.dim(0) > 1 && out.stride(0) != outF)) {
            throw new IllegalStateException(node.name() + ": a Linear writes dense rows and reads unit-stride ones, got "
                    + in[0] + " to " + out);
        }
        rows = fit(out.dim(0));
        ldx = fit(in[0].stride(0));
        ldy = fit(out.stride(0));
        one = new FloatPointer(1f);
        zero = new FloatPointer(0f);
        w = new FloatPointer(Cuda.at(weights + weightOffset));
        x = new FloatPointer(Cuda.at(in[0].address()));
        y = new FloatPointer(Cuda.at(out.address()));
        if (biasOffset >= 0 || op.activation().kind() != Activation.Kind.NONE) {
            affineAct = ctx.kernels.affineAct(out.address(), out.address(), 0, biasOffset < 0 ? 0 : weights + biasOffset,
                    rows, outF, code(op.activation()), op.activation().slope());
        }
    }

    @Override
    void enqueue(CudaContext ctx) {
        // Row-major y = x·Wᵀ is column-major yᵀ (out × rows) = Wᵀ(in × out, ld in)ᵀ · xᵀ(in × rows, ld x).
        Cuda.checkBlas(cublasSgemm_v2(ctx.blas, CUBLAS_OP_T, CUBLAS_OP_N, outF, rows, inF, one, w, inF, x, ldx, zero, y,
                ldy), node.name() + ": sgemm");
        if (affineAct != null) {
            affineAct.enqueue(ctx.stream);
        }
    }

    @Override
    public void close() {
        for (FloatPointer p : new FloatPointer[] {one, zero}) {
            if (p != null) {
                p.close();
            }
        }
    }
}
