package org.renalmtl.engine.cpu;

import static org.bytedeco.dnnl.global.dnnl.*;

import java.lang.foreign.MemorySegment;
import org.bytedeco.dnnl.dnnl_memory;
import org.bytedeco.dnnl.dnnl_memory_desc;
import org.bytedeco.dnnl.dnnl_primitive_desc;
import org.renalmtl.engine.graph.Graph;
import org.renalmtl.engine.graph.Node;
import org.renalmtl.engine.graph.Op;

/** Add as oneDNN's binary add with the activation as a post-op; the output keeps the first input's layout unless told otherwise. */
final class DnnlAdd extends CpuKernel {
    private final dnnl_primitive_desc pd;
    private final dnnl_memory_desc a; // first input's layout, and the output's
    private final dnnl_memory_desc b; // second input's layout (may differ: oneDNN reads it as it is)
    private final dnnl_memory_desc out; // the first input's layout unless the plan wants another
    private Call call;

    DnnlAdd(Graph graph, Node node, dnnl_memory_desc a, dnnl_memory_desc b, dnnl_memory_desc wanted) {
        super(graph, node);
        this.a = a;
        this.b = b;
        this.out = wanted != null ? wanted : a;
        pd = own(new dnnl_primitive_desc());
        Dnnl.check(dnnl_binary_primitive_desc_create(pd, Dnnl.engine(), dnnl_binary_add, a, b, out,
                attr(false, ((Op.Add) node.op()).activation())), "add " + node.name());
    }

    @Override
    dnnl_memory_desc outputMd() {
        return out;
    }

    @Override
    long workspaceBytes() {
        return scratchpadBytes(pd);
    }

    @Override
    void bind(MemorySegment[] inputs, MemorySegment output, MemorySegment workspace) {
        call = call(pd, new int[] {DNNL_ARG_SRC_0, DNNL_ARG_SRC_1, DNNL_ARG_DST, DNNL_ARG_SCRATCHPAD},
                new dnnl_memory[] {memory(a, inputs[0]), memory(b, inputs[1]), memory(out, output),
                    scratchpad(pd, workspace)});
    }

    @Override
    void execute() {
        call.run();
    }
}
