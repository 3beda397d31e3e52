package org.renalmtl.engine.cpu;

import static org.bytedeco.dnnl.global.dnnl.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.dnnl.dnnl_exec_arg_t;
import org.bytedeco.dnnl.dnnl_memory;
import org.bytedeco.dnnl.dnnl_memory_desc;
import org.bytedeco.dnnl.dnnl_post_ops;
import org.bytedeco.dnnl.dnnl_primitive;
import org.bytedeco.dnnl.dnnl_primitive_attr;
import org.bytedeco.dnnl.dnnl_primitive_desc;
import org.renalmtl.engine.classifier.BackboneGraph;
import org.renalmtl.engine.classifier.Op;
import org.renalmtl.engine.classifier.Value;
import org.renalmtl.engine.plan.ArenaPlanner;

/**
 * One backbone on oneDNN for a fixed batch: every op becomes a primitive created once, in the
 * layouts oneDNN prefers (blocked channels, chosen with {@code format_tag_any}), with BatchNorm
 * folded, residual add as a {@code sum} post-op writing in place over the shortcut, and ReLU as an
 * eltwise post-op. Built in two phases: {@link #requests} tells the planner what activation memory
 * it needs, {@link #bind} points every primitive at its planned place. {@link #execute} then runs
 * the primitives with pre-built argument lists and allocates nothing.
 *
 * <p>Two values live outside the arena and are re-aimed per call: the input (the user's volume, or
 * a staging copy for {@code separate} fusion) and the output features (a slice of the fused
 * feature buffer, written with a row stride).
 */
final class DnnlBackbone implements AutoCloseable {
    private final BackboneGraph graph;
    private final int batch;
    private final List<Step> steps = new ArrayList<>();
    private final dnnl_memory_desc[] valueMd; // per value: its layout as oneDNN chose it
    private final List<String> implementations = new ArrayList<>();
    private final List<Object> owned = new ArrayList<>(); // native objects to destroy on close
    private long weightBytes;
    private long scratchBytes;
    private Arena weightArena;
    private MemorySegment weights; // reordered conv weights and biases
    private dnnl_memory[] valueMem; // per value: memory object over its planned bytes
    private MemorySegment[] valueSeg; // per arena value: its planned bytes (null for input and output)
    private MutablePointer inputPointer;
    private MutablePointer outputPointer;

    /** One primitive and its argument list. */
    private static final class Step {
        final Op op;
        final dnnl_primitive_desc pd;
        dnnl_primitive prim;
        dnnl_exec_arg_t args;
        int nargs;

        Step(Op op, dnnl_primitive_desc pd) {
            this.op = op;
            this.pd = pd;
        }
    }

    /**
     * @param graph the backbone
     * @param batch samples per forward (cases × phases for {@code batch} fusion)
     * @param featureRowStride elements between consecutive samples in the output (which is plain
     *     C, D, H, W within a sample); at least C·D·H·W
     */
    DnnlBackbone(BackboneGraph graph, int batch, int featureRowStride) {
        this.graph = graph;
        this.batch = batch;
        List<Value> values = graph.values();
        valueMd = new dnnl_memory_desc[values.size()];
        valueMd[0] = own(Dnnl.md(dims(values.get(0)), dnnl_ncdhw));
        int out = graph.output();
        Value fv = values.get(out);
        // Plain (N, C, D, H, W) with a caller-chosen sample stride: for the pooled features that
        // is the fused vector's row stride, so each phase lands in its slice without a copy.
        valueMd[out] = own(Dnnl.strided(new long[] {batch, fv.channels(), fv.d(), fv.h(), fv.w()},
                new long[] {featureRowStride, fv.spatial(), (long) fv.h() * fv.w(), fv.w(), 1}));
        for (Op op : graph.ops()) {
            Step s = switch (op) {
                case Op.Conv c -> conv(c);
                case Op.MaxPool m -> pool(m, dnnl_pooling_max, new long[] {m.kernel(), m.kernel(), m.kernel()},
                        new long[] {m.stride(), m.stride(), m.stride()}, m.padding());
                case Op.GlobalAvgPool g -> {
                    Value in = values.get(g.src());
                    long[] k = {in.d(), in.h(), in.w()};
                    yield pool(g, dnnl_pooling_avg_exclude_padding, k, k, 0);
                }
            };
            steps.add(s);
            implementations.add(Dnnl.implementation(s.pd));
            dnnl_memory_desc sp = dnnl_primitive_desc_query_md(s.pd, dnnl_query_scratchpad_md, 0);
            scratchBytes = Math.max(scratchBytes, dnnl_memory_desc_get_size(sp));
        }
    }

    private <T> T own(T nativeObject) {
        owned.add(nativeObject);
        return nativeObject;
    }

    private long[] dims(Value v) {
        return new long[] {batch, v.channels(), v.d(), v.h(), v.w()};
    }

    private dnnl_primitive_attr attr(boolean sum, boolean relu) {
        dnnl_primitive_attr attr = own(new dnnl_primitive_attr());
        Dnnl.check(dnnl_primitive_attr_create(attr), "attr");
        Dnnl.check(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user), "scratchpad mode");
        if (sum || relu) {
            dnnl_post_ops po = own(new dnnl_post_ops());
            Dnnl.check(dnnl_post_ops_create(po), "post-ops");
            if (sum) {
                Dnnl.check(dnnl_post_ops_append_sum(po, 1f, 0, dnnl_data_type_undef), "sum post-op");
            }
            if (relu) {
                Dnnl.check(dnnl_post_ops_append_eltwise(po, dnnl_eltwise_relu, 0f, 0f), "relu post-op");
            }
            Dnnl.check(dnnl_primitive_attr_set_post_ops(attr, po), "set post-ops");
        }
        return attr;
    }

    private Step conv(Op.Conv c) {
        Value out = graph.values().get(c.dst());
        dnnl_memory_desc w = own(Dnnl.md(new long[] {c.cout(), c.cin(), c.kernel()[0], c.kernel()[1], c.kernel()[2]},
                dnnl_format_tag_any));
        dnnl_memory_desc b = own(Dnnl.md(new long[] {c.cout()}, dnnl_x));
        boolean inPlace = c.residual() >= 0;
        dnnl_memory_desc dst = inPlace || c.dst() == graph.output()
                ? valueMd[c.dst()]
                : own(Dnnl.md(dims(out), dnnl_format_tag_any));
        Value in = graph.values().get(c.src());
        long[] padL = new long[3];
        long[] padR = new long[3];
        long[] dil = new long[3];
        int[] inDims = {in.d(), in.h(), in.w()};
        int[] outDims = {out.d(), out.h(), out.w()};
        for (int a = 0; a < 3; a++) {
            padL[a] = c.padding()[a];
            int extent = (c.kernel()[a] - 1) * c.dilation()[a] + 1;
            padR[a] = (long) (outDims[a] - 1) * c.stride()[a] + extent - inDims[a] - padL[a];
            dil[a] = c.dilation()[a] - 1; // oneDNN counts dilation from 0
        }
        dnnl_primitive_desc pd = own(new dnnl_primitive_desc());
        Dnnl.check(dnnl_convolution_forward_primitive_desc_create(pd, Dnnl.engine(), dnnl_forward_inference,
                dnnl_convolution_direct, valueMd[c.src()], w, b, dst,
                new long[] {c.stride()[0], c.stride()[1], c.stride()[2]}, dil, padL, padR,
                attr(inPlace, c.relu())), "convolution " + c.name());
        if (!inPlace) {
            valueMd[c.dst()] = dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
        }
        weightBytes += ArenaPlanner.align(dnnl_memory_desc_get_size(dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0)));
        weightBytes += ArenaPlanner.align((long) c.cout() * Float.BYTES);
        return new Step(c, pd);
    }

    private Step pool(Op op, int alg, long[] kernel, long[] stride, int pad) {
        Value in = graph.values().get(op.src());
        Value out = graph.values().get(op.dst());
        dnnl_memory_desc dst = op.dst() == graph.output() ? valueMd[op.dst()] : own(Dnnl.md(dims(out), dnnl_format_tag_any));
        long[] padL = {pad, pad, pad};
        int[] inDims = {in.d(), in.h(), in.w()};
        int[] outDims = {out.d(), out.h(), out.w()};
        long[] padR = new long[3];
        for (int a = 0; a < 3; a++) {
            padR[a] = (outDims[a] - 1) * stride[a] + kernel[a] - inDims[a] - pad;
        }
        dnnl_primitive_desc pd = own(new dnnl_primitive_desc());
        Dnnl.check(dnnl_pooling_forward_primitive_desc_create(pd, Dnnl.engine(), dnnl_forward_inference, alg,
                valueMd[op.src()], dst, stride, kernel, new long[3], padL, padR, attr(false, false)), "pooling");
        if (op.dst() != graph.output()) {
            valueMd[op.dst()] = dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
        }
        return new Step(op, pd);
    }

    /** @return bytes of reordered weights this backbone needs (its own arena) */
    long weightBytes() {
        return weightBytes;
    }

    /** @return the largest scratchpad any primitive needs (shared, planned by the caller) */
    long scratchBytes() {
        return scratchBytes;
    }

    /** @return oneDNN's implementation name per op, for {@code inspect} and profiling */
    List<String> implementations() {
        return implementations;
    }

    /**
     * Activation buffers to plan, one per arena-resident value (all but input and output), with
     * lifetimes in steps {@code stepOffset + op index}. Request i is for value {@link #arenaValues()}[i].
     */
    List<ArenaPlanner.Request> requests(int stepOffset) {
        List<ArenaPlanner.Request> out = new ArrayList<>();
        int[] first = new int[valueMd.length];
        int[] last = new int[valueMd.length];
        java.util.Arrays.fill(first, -1);
        List<Op> ops = graph.ops();
        for (int i = 0; i < ops.size(); i++) {
            Op op = ops.get(i);
            last[op.src()] = i;
            if (first[op.dst()] < 0) {
                first[op.dst()] = i;
            }
            last[op.dst()] = Math.max(last[op.dst()], i);
        }
        for (int v : arenaValues()) {
            out.add(new ArenaPlanner.Request("value " + v, dnnl_memory_desc_get_size(valueMd[v]), stepOffset + first[v],
                    stepOffset + last[v]));
        }
        return out;
    }

    /** @return the values that live in the activation arena, in {@link #requests} order */
    int[] arenaValues() {
        int n = valueMd.length;
        int[] out = new int[n - 2];
        for (int v = 1, k = 0; v < n; v++) {
            if (v != graph.output()) {
                out[k++] = v;
            }
        }
        return out;
    }

    /** @return the number of steps (ops) */
    int steps() {
        return graph.ops().size();
    }

    /**
     * Points every primitive at planned memory and reorders the folded weights into oneDNN's layouts.
     *
     * @param activations the activation arena (shared by all networks of a model)
     * @param offsets byte offset of each arena value, in {@link #arenaValues} order
     * @param scratch the shared scratchpad, at least {@link #scratchBytes} bytes
     * @param input initial input segment (re-aimed per call by {@link #execute})
     * @param output initial output segment (re-aimed per call)
     */
    void bind(MemorySegment activations, long[] offsets, MemorySegment scratch, MemorySegment input,
            MemorySegment output) {
        weightArena = Arena.ofShared();
        weights = weightArena.allocate(Math.max(weightBytes, 64), 64);
        valueMem = new dnnl_memory[valueMd.length];
        valueSeg = new MemorySegment[valueMd.length];
        int[] arena = arenaValues();
        for (int i = 0; i < arena.length; i++) {
            int v = arena[i];
            long bytes = dnnl_memory_desc_get_size(valueMd[v]);
            valueSeg[v] = activations.asSlice(offsets[i], bytes);
            valueMem[v] = memory(valueMd[v], new MutablePointer(valueSeg[v]));
        }
        inputPointer = new MutablePointer(input);
        outputPointer = new MutablePointer(output);
        valueMem[0] = memory(valueMd[0], inputPointer);
        valueMem[graph.output()] = memory(valueMd[graph.output()], outputPointer);
        long woff = 0;
        for (Step s : steps) {
            s.prim = own(new dnnl_primitive());
            Dnnl.check(dnnl_primitive_create(s.prim, s.pd), "primitive");
            // Scratchpad descriptors differ per primitive, but all use the same shared bytes.
            dnnl_memory sp = memory(dnnl_primitive_desc_query_md(s.pd, dnnl_query_scratchpad_md, 0),
                    new MutablePointer(scratch));
            if (s.op instanceof Op.Conv c) {
                dnnl_memory_desc wmd = dnnl_primitive_desc_query_md(s.pd, dnnl_query_weights_md, 0);
                long wbytes = dnnl_memory_desc_get_size(wmd);
                MemorySegment wseg = weights.asSlice(woff, wbytes);
                woff += ArenaPlanner.align(wbytes);
                reorderWeights(c, wmd, wseg);
                MemorySegment bseg = weights.asSlice(woff, (long) c.cout() * Float.BYTES);
                woff += ArenaPlanner.align((long) c.cout() * Float.BYTES);
                MemorySegment.copy(c.bias(), 0, bseg, ValueLayout.JAVA_FLOAT, 0, c.cout());
                dnnl_memory wm = memory(wmd, new MutablePointer(wseg));
                dnnl_memory bm = memory(dnnl_primitive_desc_query_md(s.pd, dnnl_query_weights_md, 1), new MutablePointer(bseg));
                s.args = args(new int[] {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_BIAS, DNNL_ARG_DST, DNNL_ARG_SCRATCHPAD},
                        new dnnl_memory[] {valueMem[c.src()], wm, bm, valueMem[c.dst()], sp});
                s.nargs = 5;
            } else {
                s.args = args(new int[] {DNNL_ARG_SRC, DNNL_ARG_DST, DNNL_ARG_SCRATCHPAD},
                        new dnnl_memory[] {valueMem[s.op.src()], valueMem[s.op.dst()], sp});
                s.nargs = 3;
            }
        }
    }

    private static String layerName(Op op) {
        return switch (op) {
            case Op.Conv c -> c.name();
            case Op.MaxPool m -> "maxpool";
            case Op.GlobalAvgPool g -> "avgpool";
        };
    }

    private dnnl_memory memory(dnnl_memory_desc md, MutablePointer handle) {
        dnnl_memory m = own(new dnnl_memory());
        owned.add(handle); // keeps the pointer object reachable while oneDNN holds its address
        Dnnl.check(dnnl_memory_create(m, md, Dnnl.engine(), handle), "memory");
        return m;
    }

    private dnnl_exec_arg_t args(int[] kinds, dnnl_memory[] mems) {
        dnnl_exec_arg_t a = own(new dnnl_exec_arg_t(kinds.length));
        for (int i = 0; i < kinds.length; i++) {
            a.position(i).arg(kinds[i]).memory(mems[i]);
        }
        return a.position(0);
    }

    /** Copies the folded OIDHW weights into oneDNN's blocked weight layout, once. */
    private void reorderWeights(Op.Conv c, dnnl_memory_desc dstMd, MemorySegment dst) {
        long[] dims = {c.cout(), c.cin(), c.kernel()[0], c.kernel()[1], c.kernel()[2]};
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment src = tmp.allocate((long) c.weight().length * Float.BYTES, 64);
            MemorySegment.copy(c.weight(), 0, src, ValueLayout.JAVA_FLOAT, 0, c.weight().length);
            dnnl_memory_desc srcMd = Dnnl.md(dims, dnnl_oidhw);
            dnnl_memory srcMem = new dnnl_memory();
            dnnl_memory dstMem = new dnnl_memory();
            MutablePointer sp = new MutablePointer(src);
            MutablePointer dp = new MutablePointer(dst);
            Dnnl.check(dnnl_memory_create(srcMem, srcMd, Dnnl.engine(), sp), "weights memory");
            Dnnl.check(dnnl_memory_create(dstMem, dstMd, Dnnl.engine(), dp), "weights memory");
            dnnl_primitive_desc rpd = new dnnl_primitive_desc();
            Dnnl.check(dnnl_reorder_primitive_desc_create(rpd, srcMd, Dnnl.engine(), dstMd, Dnnl.engine(), null),
                    "weights reorder");
            dnnl_primitive r = new dnnl_primitive();
            Dnnl.check(dnnl_primitive_create(r, rpd), "weights reorder");
            dnnl_exec_arg_t a = new dnnl_exec_arg_t(2);
            a.position(0).arg(DNNL_ARG_FROM).memory(srcMem);
            a.position(1).arg(DNNL_ARG_TO).memory(dstMem);
            Dnnl.check(dnnl_primitive_execute(r, Dnnl.stream(), 2, a.position(0)), "weights reorder");
            Dnnl.check(dnnl_stream_wait(Dnnl.stream()), "stream wait");
            dnnl_primitive_destroy(r);
            dnnl_primitive_desc_destroy(rpd);
            dnnl_memory_destroy(srcMem);
            dnnl_memory_destroy(dstMem);
            dnnl_memory_desc_destroy(srcMd);
            a.close();
        }
    }

    /**
     * Runs the backbone: reads {@code input} (batch, C, D, H, W), writes the features with the row
     * stride given at construction into {@code output}. Allocates nothing.
     */
    void execute(MemorySegment input, MemorySegment output) {
        execute(input, output, null);
    }

    /**
     * Runs the backbone; with a probe, checks each layer's output after it runs (the error path of
     * {@link CpuPlan#firstNonFiniteLayer}: waits for every primitive).
     */
    void execute(MemorySegment input, MemorySegment output, NonFiniteProbe probe) {
        inputPointer.aim(input);
        Dnnl.check(dnnl_memory_set_data_handle(valueMem[0], inputPointer), "set input");
        outputPointer.aim(output);
        Dnnl.check(dnnl_memory_set_data_handle(valueMem[graph.output()], outputPointer), "set output");
        for (int i = 0; i < steps.size(); i++) { // indexed: no iterator on the hot path
            Step s = steps.get(i);
            Dnnl.check(dnnl_primitive_execute(s.prim, Dnnl.stream(), s.nargs, s.args), "execute");
            if (probe != null) {
                Dnnl.check(dnnl_stream_wait(Dnnl.stream()), "stream wait");
                int dst = s.op.dst();
                MemorySegment written = dst == graph.output() ? output : valueSeg[dst];
                probe.after(layerName(s.op), written.asSlice(0, Math.min(written.byteSize(),
                        dnnl_memory_desc_get_size(valueMd[dst]))));
            }
        }
        Dnnl.check(dnnl_stream_wait(Dnnl.stream()), "stream wait");
    }

    @Override
    public void close() {
        for (int i = owned.size() - 1; i >= 0; i--) {
            switch (owned.get(i)) {
                case dnnl_primitive p -> dnnl_primitive_destroy(p);
                case dnnl_memory m -> dnnl_memory_destroy(m);
                case dnnl_primitive_desc pd -> dnnl_primitive_desc_destroy(pd);
                case dnnl_primitive_attr a -> dnnl_primitive_attr_destroy(a);
                case dnnl_post_ops po -> dnnl_post_ops_destroy(po);
                case dnnl_memory_desc md -> dnnl_memory_desc_destroy(md);
                case dnnl_exec_arg_t a -> a.close();
                default -> {
                    // MutablePointers: plain views, nothing to free
                }
            }
        }
        owned.clear();
        if (weightArena != null) {
            weightArena.close();
        }
    }
}
