package org.renalmtl.engine.cpu;

import static org.bytedeco.dnnl.global.dnnl.*;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.dnnl.dnnl_memory;
import org.bytedeco.dnnl.dnnl_memory_desc;
import org.bytedeco.dnnl.dnnl_primitive_desc;
import org.renalmtl.engine.graph.Graph;
import org.renalmtl.engine.graph.Node;
import org.renalmtl.engine.graph.Op;

/**
 * BatchNorm with its running statistics (one the graph could not fold into a conv) on oneDNN: affine,
 * the activation as an eltwise post-op, any input layout. InstanceNorm3d is {@link InstanceNormKernel}.
 */
final class DnnlNorm extends CpuKernel {
    private final dnnl_primitive_desc pd;
    private final dnnl_memory_desc in; // the input's layout
    private final dnnl_memory_desc out; // the output's: the input's unless the plan wants another
    private final List<String> constants = new ArrayList<>(); // the tensors read at run time, in argument order
    private final List<Integer> kinds = new ArrayList<>(); // their DNNL_ARG_* kinds
    private MemorySegment[] packed; // per constant, in argument order: (C)
    private Call call;

    /** @param wanted the output layout the plan needs, or null to keep the input's */
    DnnlNorm(Graph graph, Node node, dnnl_memory_desc in, dnnl_memory_desc wanted) {
        super(graph, node);
        this.in = in;
        this.out = wanted != null ? wanted : in;
        long channels = graph.value(node.input(0)).dim(1);
        pd = own(new dnnl_primitive_desc());
        if (!(node.op() instanceof Op.BatchNorm b)) {
            throw new IllegalArgumentException(node + " is not a batch norm");
        }
        add(b.mean(), DNNL_ARG_MEAN);
        add(b.variance(), DNNL_ARG_VARIANCE);
        add(b.scale(), DNNL_ARG_SCALE);
        add(b.bias(), DNNL_ARG_SHIFT);
        Dnnl.check(dnnl_batch_normalization_forward_primitive_desc_create(pd, Dnnl.engine(), dnnl_forward_inference,
                in, out, b.eps(), dnnl_use_global_stats | dnnl_use_scale | dnnl_use_shift, attr(false, b.activation())),
                "batch norm " + node.name());
    }

    private void add(String constant, int kind) {
        constants.add(constant);
        kinds.add(kind);
    }

    @Override
    dnnl_memory_desc outputMd() {
        return dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
    }

    @Override
    long workspaceBytes() {
        return scratchpadBytes(pd);
    }

    @Override
    void packConstants() {
        long channels = graph.value(node.input(0)).dim(1);
        packed = new MemorySegment[constants.size()];
        for (int i = 0; i < packed.length; i++) {
            packed[i] = copyConstant(constants.get(i), channels * Float.BYTES);
        }
    }

    @Override
    void bind(MemorySegment[] inputs, MemorySegment output, MemorySegment workspace) {
        pack();
        int n = 3 + constants.size();
        int[] k = new int[n];
        dnnl_memory[] m = new dnnl_memory[n];
        k[0] = DNNL_ARG_SRC;
        m[0] = memory(in, inputs[0]);
        k[1] = DNNL_ARG_DST;
        m[1] = memory(outputMd(), output);
        k[2] = DNNL_ARG_SCRATCHPAD;
        m[2] = scratchpad(pd, workspace);
        long channels = graph.value(node.input(0)).dim(1);
        for (int i = 0; i < constants.size(); i++) {
            k[3 + i] = kinds.get(i);
            m[3 + i] = memory(md(new long[] {channels}, dnnl_a), packed[i]);
        }
        call = call(pd, k, m);
    }

    @Override
    void execute() {
        call.run();
    }
}
