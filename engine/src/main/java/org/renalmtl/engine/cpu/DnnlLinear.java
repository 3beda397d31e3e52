package org.renalmtl.engine.cpu;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.bytedeco.dnnl.global.dnnl.*;

import java.lang.foreign.MemorySegment;
import org.bytedeco.dnnl.dnnl_memory;
import org.bytedeco.dnnl.dnnl_memory_desc;
import org.bytedeco.dnnl.dnnl_primitive_desc;
import org.renalmtl.engine.graph.Activation;
import org.renalmtl.engine.graph.Graph;
import org.renalmtl.engine.graph.Node;
import org.renalmtl.engine.graph.Op;

/**
 * Linear as oneDNN's inner product with its bias, (N, in) → (N, out), plain; the activation is applied
 * after it in Java, on these few values, as {@link Activation#apply} defines it. oneDNN's eltwise
 * post-ops are x86 max/min underneath and turn NaN into 0 (ReLU) or into a clamped finite value
 * (logistic), so an overflow in a head would leave as a finite probability; in Java a NaN stays a NaN
 * and the engine refuses the result.
 */
final class DnnlLinear extends CpuKernel {
    private final Op.Linear op;
    private final dnnl_primitive_desc pd;
    private final dnnl_memory_desc src; // (N, in) plain
    private final dnnl_memory_desc dst; // (N, out) plain
    private final long[] weightDims; // (out, in)
    private MemorySegment out; // (N, out), the bound output
    private MemorySegment packedWeight; // in the layout the primitive chose
    private MemorySegment packedBias; // (out), or null
    private Call call;

    DnnlLinear(Graph graph, Node node) {
        super(graph, node);
        op = (Op.Linear) node.op();
        src = plain(graph.value(node.input(0)).shape());
        dst = plain(graph.value(node.output()).shape());
        weightDims = graph.constant(op.weight()).shape().clone();
        dnnl_memory_desc bmd = op.bias() == null ? null : md(new long[] {weightDims[0]}, dnnl_a);
        pd = own(new dnnl_primitive_desc());
        Dnnl.check(dnnl_inner_product_forward_primitive_desc_create(pd, Dnnl.engine(), dnnl_forward_inference, src,
                md(weightDims, dnnl_format_tag_any), bmd, dst, attr(false, Activation.NONE)), "linear " + node.name());
    }

    @Override
    dnnl_memory_desc outputMd() {
        return dst;
    }

    @Override
    long workspaceBytes() {
        return scratchpadBytes(pd);
    }

    @Override
    void packConstants() {
        packedWeight = pack(op.weight(), weightDims, dnnl_ab, dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0));
        packedBias = op.bias() == null ? null : copyConstant(op.bias(), weightDims[0] * Float.BYTES);
    }

    @Override
    void bind(MemorySegment[] inputs, MemorySegment output, MemorySegment workspace) {
        pack();
        out = output.asSlice(0, dnnl_memory_desc_get_size(dst));
        dnnl_memory bias = packedBias == null ? null
                : memory(dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 1), packedBias);
        call = weightedCall(pd, memory(src, inputs[0]),
                memory(dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0), packedWeight), bias,
                memory(dst, output), scratchpad(pd, workspace));
    }

    @Override
    void execute() {
        call.run();
        Activation act = op.activation();
        if (act.kind() != Activation.Kind.NONE) {
            for (long i = 0; i < out.byteSize() / Float.BYTES; i++) {
                out.setAtIndex(JAVA_FLOAT, i, (float) act.apply(out.getAtIndex(JAVA_FLOAT, i)));
            }
        }
    }
}
