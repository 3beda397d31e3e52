package org.renalmtl.engine.cpu;

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
 * MaxPool3d (padded cells never win: oneDNN pads max pooling with -inf), GlobalAvgPool (an average
 * over the whole volume, written as the plain (N, C) vector) and the type-A shortcut (an average pool
 * of kernel 1 and the block's stride into the first channels of a zeroed output in the input's
 * format) on oneDNN.
 */
final class DnnlPool extends CpuKernel {
    private final dnnl_primitive_desc pd;
    private final dnnl_memory_desc in; // the input's layout
    private final dnnl_memory_desc poolDst; // what the primitive writes: the output, or its first channels
    private final dnnl_memory_desc out; // the output value's layout
    private final boolean zeroFirst; // the type-A shortcut's padded channels
    private Call call;
    private MemorySegment zeroed;

    /** @param wanted the output layout to use where the op is free to choose (null: oneDNN's choice) */
    DnnlPool(Graph graph, Node node, dnnl_memory_desc in, dnnl_memory_desc wanted) {
        super(graph, node);
        this.in = in;
        long[] x = graph.value(node.input(0)).shape();
        long[] y = graph.value(node.output()).shape();
        long[] kernel;
        long[] stride;
        long[] padL = new long[3];
        int alg;
        switch (node.op()) {
            case Op.MaxPool3d m -> {
                kernel = new long[] {m.kernel().d(), m.kernel().h(), m.kernel().w()};
                stride = new long[] {m.stride().d(), m.stride().h(), m.stride().w()};
                padL = new long[] {m.padding().d(), m.padding().h(), m.padding().w()};
                alg = dnnl_pooling_max;
                out = wanted != null ? wanted : md(y, dnnl_format_tag_any);
                poolDst = out;
                zeroFirst = false;
            }
            case Op.GlobalAvgPool g -> {
                kernel = new long[] {x[2], x[3], x[4]};
                stride = kernel.clone();
                alg = dnnl_pooling_avg_exclude_padding;
                // (N, C, 1, 1, 1) plain is byte for byte the (N, C) vector the head reads.
                out = plain(y);
                poolDst = md(new long[] {x[0], x[1], 1, 1, 1}, dnnl_ncdhw);
                zeroFirst = false;
            }
            case Op.ShortcutA s -> {
                kernel = new long[] {1, 1, 1};
                stride = new long[] {s.stride(), s.stride(), s.stride()};
                alg = dnnl_pooling_avg_exclude_padding;
                int tag = DnnlLayouts.volumeTag(in, x);
                if (tag < 0) {
                    throw new IllegalArgumentException(node.name() + ": the type-A shortcut's input is in a layout "
                            + "this backend does not use");
                }
                out = wanted != null ? wanted : md(y, tag);
                poolDst = own(new dnnl_memory_desc());
                Dnnl.check(dnnl_memory_desc_create_submemory(poolDst, out, new long[] {y[0], x[1], y[2], y[3], y[4]},
                        new long[5]), "shortcut channels view");
                zeroFirst = true;
            }
            default -> throw new IllegalArgumentException(node + " is not a pooling");
        }
        long[] pooled = y.length == 5 ? y : new long[] {y[0], y[1], 1, 1, 1}; // the global pool writes 1³ per channel
        long[] padR = new long[3];
        for (int a = 0; a < 3; a++) {
            padR[a] = (pooled[2 + a] - 1) * stride[a] + kernel[a] - x[2 + a] - padL[a];
        }
        pd = own(new dnnl_primitive_desc());
        Dnnl.check(dnnl_pooling_forward_primitive_desc_create(pd, Dnnl.engine(), dnnl_forward_inference, alg, in,
                poolDst, stride, kernel, new long[3], padL, padR, attr(false, Activation.NONE)),
                "pooling " + node.name());
    }

    @Override
    dnnl_memory_desc outputMd() {
        return node.op() instanceof Op.MaxPool3d ? dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0) : out;
    }

    @Override
    long workspaceBytes() {
        return scratchpadBytes(pd);
    }

    @Override
    void bind(MemorySegment[] inputs, MemorySegment output, MemorySegment workspace) {
        dnnl_memory_desc dst = node.op() instanceof Op.MaxPool3d ? outputMd() : poolDst;
        zeroed = zeroFirst ? output.asSlice(0, dnnl_memory_desc_get_size(out)) : null;
        call = call(pd, new int[] {DNNL_ARG_SRC, DNNL_ARG_DST, DNNL_ARG_SCRATCHPAD},
                new dnnl_memory[] {memory(in, inputs[0]), memory(dst, output),
                    scratchpad(pd, workspace)});
    }

    @Override
    void execute() {
        if (zeroed != null) {
            zeroed.fill((byte) 0); // the added channels are zeros; the arena may hold anything there
        }
        call.run();
    }
}
