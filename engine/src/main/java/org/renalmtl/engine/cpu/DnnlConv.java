package org.renalmtl.engine.cpu;

import static org.bytedeco.dnnl.global.dnnl.*;

import java.lang.foreign.MemorySegment;
import org.bytedeco.dnnl.dnnl_memory;
import org.bytedeco.dnnl.dnnl_memory_desc;
import org.bytedeco.dnnl.dnnl_primitive_desc;
import org.renalmtl.engine.graph.Activation;
import org.renalmtl.engine.graph.Dims3;
import org.renalmtl.engine.graph.Graph;
import org.renalmtl.engine.graph.Node;
import org.renalmtl.engine.graph.Op;

/**
 * Conv3d (bias, residual as oneDNN's sum post-op, activation as an eltwise post-op) and ConvTranspose3d
 * (oneDNN's deconvolution) on oneDNN. The weights are packed once into the layout the primitive chose.
 * CPU twin of the conv family of the CUDA backend (cuDNN's ConvolutionBiasActivation).
 */
final class DnnlConv extends CpuKernel {
    private final dnnl_primitive_desc pd;
    private final dnnl_memory_desc[] in; // per input: its layout, as the producer wrote it
    private final dnnl_memory_desc dst;
    private final long[] weightDims; // oneDNN's (O, I, kd, kh, kw)
    private final int weightSourceTag; // the checkpoint's order: oidhw for a conv, iodhw for a transposed conv
    private final String weight;
    private final String bias;
    private final long cout;
    private final boolean residual;
    private MemorySegment residualCopyFrom; // the residual's bytes when the plan did not put the output over them
    private MemorySegment residualCopyTo; // the output's bytes, which the sum post-op accumulates into
    private MemorySegment packedWeight; // in the layout the primitive chose
    private MemorySegment packedBias; // (Cout), or null
    private Call call;

    /**
     * @param in the inputs' layouts (x, then the residual for a residual conv)
     * @param wanted the output layout to use, or null to let oneDNN choose (a residual conv always writes
     *     in its residual's layout: the sum post-op reads it there)
     */
    DnnlConv(Graph graph, Node node, dnnl_memory_desc[] in, dnnl_memory_desc wanted) {
        super(graph, node);
        this.in = in.clone();
        long[] x = graph.value(node.input(0)).shape();
        long[] y = graph.value(node.output()).shape();
        Dims3 stride;
        Dims3 padding;
        long[] dilate = new long[3];
        Activation act;
        boolean transposed = node.op() instanceof Op.ConvTranspose3d;
        boolean sum = false;
        switch (node.op()) {
            case Op.Conv3d c -> {
                stride = c.stride();
                padding = c.padding();
                for (int a = 0; a < 3; a++) {
                    dilate[a] = c.dilation().get(a) - 1; // oneDNN counts dilation from 0
                }
                act = c.activation();
                sum = c.residual();
                weight = c.weight();
                bias = c.bias();
            }
            case Op.ConvTranspose3d t -> {
                stride = t.stride();
                padding = t.padding();
                act = t.activation();
                weight = t.weight();
                bias = t.bias();
            }
            default -> throw new IllegalArgumentException(node + " is not a conv");
        }
        long[] w = graph.constant(weight).shape();
        // oneDNN takes (O, I, k…) for both; PyTorch stores a transposed conv's weight as (I, O, k…).
        weightDims = transposed ? new long[] {w[1], w[0], w[2], w[3], w[4]} : w.clone();
        weightSourceTag = transposed ? dnnl_iodhw : dnnl_oidhw;
        cout = weightDims[0];
        long[] padL = new long[3];
        long[] padR = new long[3];
        for (int a = 0; a < 3; a++) {
            long k = (weightDims[2 + a] - 1) * (dilate[a] + 1) + 1;
            padL[a] = padding.get(a);
            // The far side's padding is whatever makes oneDNN's size rule give the graph's output size
            // (PyTorch's floor for a conv, the output padding for a transposed conv).
            padR[a] = transposed
                    ? (x[2 + a] - 1) * stride.get(a) + k - y[2 + a] - padL[a]
                    : (y[2 + a] - 1) * stride.get(a) + k - x[2 + a] - padL[a];
        }
        dnnl_memory_desc wmd = md(weightDims, dnnl_format_tag_any);
        dnnl_memory_desc bmd = bias == null ? null : md(new long[] {cout}, dnnl_a);
        residual = sum;
        dnnl_memory_desc dstWanted = residual ? in[1] : wanted != null ? wanted : md(y, dnnl_format_tag_any);
        long[] strides = {stride.d(), stride.h(), stride.w()};
        pd = own(new dnnl_primitive_desc());
        int status = transposed
                ? dnnl_deconvolution_forward_primitive_desc_create(pd, Dnnl.engine(), dnnl_forward_inference,
                        dnnl_deconvolution_direct, in[0], wmd, bmd, dstWanted, strides, dilate, padL, padR,
                        attr(residual, act))
                : dnnl_convolution_forward_primitive_desc_create(pd, Dnnl.engine(), dnnl_forward_inference,
                        dnnl_convolution_direct, in[0], wmd, bmd, dstWanted, strides, dilate, padL, padR,
                        attr(residual, act));
        Dnnl.check(status, (transposed ? "transposed convolution " : "convolution ") + node.name());
        dst = dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
    }

    @Override
    dnnl_memory_desc outputMd() {
        return dst;
    }

    @Override
    boolean reference() {
        return Dnnl.implementation(pd).startsWith("ref");
    }

    @Override
    long workspaceBytes() {
        return scratchpadBytes(pd);
    }

    @Override
    void packConstants() {
        packedWeight = pack(weight, weightDims, weightSourceTag, dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0));
        packedBias = bias == null ? null : copyConstant(bias, cout * Float.BYTES);
    }

    @Override
    void bind(MemorySegment[] inputs, MemorySegment output, MemorySegment workspace) {
        pack();
        if (residual && inputs[1].address() != output.address()) {
            long bytes = dnnl_memory_desc_get_size(dst);
            residualCopyFrom = inputs[1].asSlice(0, bytes);
            residualCopyTo = output.asSlice(0, bytes);
        }
        dnnl_memory bias = packedBias == null ? null
                : memory(dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 1), packedBias);
        call = weightedCall(pd, memory(in[0], inputs[0]),
                memory(dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0), packedWeight), bias,
                memory(dst, output), scratchpad(pd, workspace));
    }

    @Override
    void execute() {
        if (residualCopyFrom != null) {
            MemorySegment.copy(residualCopyFrom, 0, residualCopyTo, 0, residualCopyFrom.byteSize());
        }
        call.run();
    }
}
