package org.renalmtl.engine.cpu;

import static org.bytedeco.dnnl.global.dnnl.*;

import java.lang.foreign.MemorySegment;
import org.bytedeco.dnnl.dnnl_exec_arg_t;
import org.bytedeco.dnnl.dnnl_memory;
import org.bytedeco.dnnl.dnnl_memory_desc;
import org.bytedeco.dnnl.dnnl_primitive;
import org.bytedeco.dnnl.dnnl_primitive_desc;
import org.bytedeco.javacpp.PointerPointer;
import org.renalmtl.engine.graph.Activation;
import org.renalmtl.engine.graph.Graph;
import org.renalmtl.engine.graph.Node;
import org.renalmtl.engine.graph.Op;

/**
 * The ops that only move data, when the plan could not make them views: Slice (a reorder from a
 * sub-memory of the input), Reshape (a reorder into the plain layout, which is the new shape's plain
 * layout byte for byte) and Concat (oneDNN's concat). Their output is plain.
 */
final class DnnlCopy extends CpuKernel {
    private final dnnl_primitive_desc pd;
    private final dnnl_memory_desc[] src; // per input: the layout read (a sub-memory for a slice)
    private final dnnl_memory_desc dst; // what the primitive writes
    private final dnnl_memory_desc out; // the output value's layout
    private dnnl_primitive prim;
    private dnnl_exec_arg_t args;
    private int nargs;

    DnnlCopy(Graph graph, Node node, dnnl_memory_desc[] in) {
        super(graph, node);
        long[] y = graph.value(node.output()).shape();
        out = plain(y);
        dnnl_primitive_desc made = new dnnl_primitive_desc();
        switch (node.op()) {
            case Op.Slice s -> {
                long[] x = graph.value(node.input(0)).shape();
                long[] offsets = new long[x.length];
                offsets[s.axis()] = s.start();
                dnnl_memory_desc sub = own(new dnnl_memory_desc());
                Dnnl.check(dnnl_memory_desc_create_submemory(sub, in[0], y, offsets), "slice view " + node.name());
                src = new dnnl_memory_desc[] {sub};
                dst = out;
                Dnnl.check(dnnl_reorder_primitive_desc_create(made, sub, Dnnl.engine(), dst, Dnnl.engine(), null),
                        "slice " + node.name());
            }
            case Op.Reshape r -> {
                src = new dnnl_memory_desc[] {in[0]};
                dst = plain(graph.value(node.input(0)).shape());
                Dnnl.check(dnnl_reorder_primitive_desc_create(made, in[0], Dnnl.engine(), dst, Dnnl.engine(), null),
                        "reshape " + node.name());
            }
            case Op.Concat c -> {
                src = in.clone();
                dst = out;
                // The array-taking overload wants the out-parameter as a pointer to a handle too.
                try (PointerPointer<dnnl_memory_desc> mds = new PointerPointer<>(in.length);
                        PointerPointer<dnnl_primitive_desc> created = new PointerPointer<>(1)) {
                    for (int i = 0; i < in.length; i++) {
                        mds.put(i, in[i]);
                    }
                    Dnnl.check(dnnl_concat_primitive_desc_create(created, Dnnl.engine(), dst, in.length, 1, mds,
                            attr(false, Activation.NONE)), "concat " + node.name());
                    made = created.get(dnnl_primitive_desc.class, 0);
                }
            }
            default -> throw new IllegalArgumentException(node + " does not move data");
        }
        pd = own(made);
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
        prim = primitive(pd);
        if (node.op() instanceof Op.Concat) {
            int n = inputs.length;
            int[] k = new int[n + 2];
            dnnl_memory[] m = new dnnl_memory[n + 2];
            for (int i = 0; i < n; i++) {
                k[i] = DNNL_ARG_MULTIPLE_SRC + i;
                m[i] = memory(src[i], inputs[i]);
            }
            k[n] = DNNL_ARG_DST;
            m[n] = memory(dst, output);
            k[n + 1] = DNNL_ARG_SCRATCHPAD;
            m[n + 1] = memory(dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0), workspace);
            args = args(k, m);
            nargs = n + 2;
        } else {
            args = args(new int[] {DNNL_ARG_FROM, DNNL_ARG_TO}, new dnnl_memory[] {memory(src[0], inputs[0]),
                memory(dst, output)});
            nargs = 2;
        }
    }

    @Override
    void execute() {
        Dnnl.check(dnnl_primitive_execute(prim, Dnnl.stream(), nargs, args), "execute " + node.name());
    }
}
