package org.renalmtl.engine.cpu;

import static org.bytedeco.dnnl.global.dnnl.*;

import java.lang.foreign.MemorySegment;
import org.bytedeco.dnnl.dnnl_memory;
import org.bytedeco.dnnl.dnnl_memory_desc;
import org.bytedeco.dnnl.dnnl_primitive_desc;
import java.util.ArrayList;
import java.util.List;
import org.renalmtl.engine.graph.Activation;
import org.renalmtl.engine.graph.Graph;
import org.renalmtl.engine.graph.Node;
import org.renalmtl.engine.graph.Op;

/**
 * The ops that only move data, when the plan could not make them views: Slice (a reorder from a
 * sub-memory of the input), Reshape (a reorder into the plain layout, which is the new shape's plain
 * layout byte for byte) and Concat (one reorder per input into its sub-memory of the output, skipping
 * the inputs whose producers already wrote there). Their output is plain unless the plan wants another
 * layout.
 */
final class DnnlCopy extends CpuKernel {
    private final dnnl_primitive_desc[] pds; // per copy: a reorder
    private final dnnl_memory_desc[] from; // per copy: the layout read
    private final dnnl_memory_desc[] to; // per copy: the layout written (a sub-memory of the output for a concat)
    private final int[] source; // per copy: which node input it reads
    private final dnnl_memory_desc out; // the output value's layout
    private Call[] calls; // per copy

    /**
     * @param wanted the output layout the plan needs, or null for plain
     * @param sliced for a concat: per input, whether its producer already wrote it into its slice (null: none)
     */
    DnnlCopy(Graph graph, Node node, dnnl_memory_desc[] in, dnnl_memory_desc wanted, boolean[] sliced) {
        super(graph, node);
        long[] y = graph.value(node.output()).shape();
        out = wanted != null ? wanted : plain(y);
        List<dnnl_memory_desc> f = new ArrayList<>();
        List<dnnl_memory_desc> t = new ArrayList<>();
        List<Integer> src = new ArrayList<>();
        switch (node.op()) {
            case Op.Slice s -> {
                long[] offsets = new long[y.length];
                offsets[s.axis()] = s.start();
                f.add(sub(in[0], y, offsets, "slice view"));
                t.add(out);
                src.add(0);
            }
            case Op.Reshape r -> {
                long[] x = graph.value(node.input(0)).shape();
                f.add(in[0]);
                // The plain layout of the input's shape is the output's plain layout byte for byte.
                t.add(wanted == null || DnnlLayouts.isPlain(wanted, y) ? plain(x) : unsupported(node));
                src.add(0);
            }
            case Op.Concat c -> {
                long channel = 0;
                for (int j = 0; j < in.length; j++) {
                    long[] x = graph.value(node.input(j)).shape();
                    long[] offsets = new long[x.length];
                    offsets[1] = channel;
                    channel += x[1];
                    if (sliced != null && sliced[j]) {
                        continue;
                    }
                    f.add(in[j]);
                    t.add(sub(out, x, offsets, "concat slice"));
                    src.add(j);
                }
            }
            default -> throw new IllegalArgumentException(node + " does not move data");
        }
        int n = f.size();
        from = f.toArray(new dnnl_memory_desc[0]);
        to = t.toArray(new dnnl_memory_desc[0]);
        source = src.stream().mapToInt(Integer::intValue).toArray();
        pds = new dnnl_primitive_desc[n];
        for (int i = 0; i < n; i++) {
            pds[i] = own(new dnnl_primitive_desc());
            Dnnl.check(dnnl_reorder_primitive_desc_create(pds[i], from[i], Dnnl.engine(), to[i], Dnnl.engine(),
                    scratchpadAttr()), "copy " + node.name());
        }
    }

    private dnnl_memory_desc sub(dnnl_memory_desc parent, long[] dims, long[] offsets, String what) {
        dnnl_memory_desc m = own(new dnnl_memory_desc());
        Dnnl.check(dnnl_memory_desc_create_submemory(m, parent, dims, offsets), what + " " + node.name());
        return m;
    }

    private static dnnl_memory_desc unsupported(Node node) {
        throw new IllegalArgumentException(node.name() + ": a reshape into a non-plain layout");
    }

    private org.bytedeco.dnnl.dnnl_primitive_attr scratchpadAttr() {
        return attr(false, Activation.NONE);
    }

    @Override
    dnnl_memory_desc outputMd() {
        return out;
    }

    @Override
    long workspaceBytes() {
        long most = 0;
        for (dnnl_primitive_desc pd : pds) {
            most = Math.max(most, scratchpadBytes(pd));
        }
        return most;
    }

    @Override
    void bind(MemorySegment[] inputs, MemorySegment output, MemorySegment workspace) {
        calls = new Call[pds.length];
        for (int i = 0; i < pds.length; i++) {
            calls[i] = call(pds[i], new int[] {DNNL_ARG_FROM, DNNL_ARG_TO, DNNL_ARG_SCRATCHPAD},
                    new dnnl_memory[] {memory(from[i], inputs[source[i]]), memory(to[i], output),
                        scratchpad(pds[i], workspace)});
        }
    }

    @Override
    void execute() {
        for (Call c : calls) {
            c.run();
        }
    }
}
