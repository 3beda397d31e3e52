package org.renalmtl.engine.cpu;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.bytedeco.dnnl.global.dnnl.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntConsumer;
import org.bytedeco.dnnl.dnnl_memory_desc;
import org.renalmtl.engine.CompiledGraph;
import org.renalmtl.engine.graph.Graph;
import org.renalmtl.engine.graph.Node;
import org.renalmtl.engine.graph.Op;
import org.renalmtl.engine.graph.Schedule;
import org.renalmtl.engine.graph.Storage;
import org.renalmtl.engine.graph.Value;
import org.renalmtl.engine.plan.ArenaPlanner;

/**
 * A graph compiled for the CPU: every node bound to its oneDNN (or Java) kernel, every value placed by
 * the backend-neutral {@link Schedule} in one arena, weights packed once. {@link #run} copies the inputs
 * in, executes the kernels in order and copies the outputs out, allocating nothing.
 *
 * <p>Layouts: kernels choose their outputs' layouts where they may (convs hand blocked formats on to
 * the next conv, as oneDNN prefers); graph outputs, concat inputs and the inputs of views are plain, so
 * the schedule's aliases hold byte for byte. Compiling takes two passes: the first learns every value's
 * layout and size for the schedule, the second binds each kernel to the layouts the schedule settled
 * (strided where a producer writes into its slice of a concat).
 */
public final class CpuGraph implements CompiledGraph {
    private final Graph graph;
    private final Schedule schedule;
    private final CpuKernel[] kernels; // per node: its kernel, null where the schedule elides it
    private final long workspaceBytes; // the most scratch any kernel needs
    private final Arena arena = Arena.ofShared(); // staging buffers, and the arena when the graph owns one
    private final MemorySegment[] staging; // per graph input, in declaration order: the caller's data copied in
    private final MemorySegment[] written; // per node: the bytes its kernel writes (for the non-finite check)
    private final List<dnnl_memory_desc> descs = new ArrayList<>(); // layouts made here, destroyed on close
    private final dnnl_memory_desc[] layout; // per value: the layout it is stored in
    private MemorySegment activations; // the schedule's arena, once bound
    private MemorySegment[] outputs; // per graph output, in declaration order: its dense bytes in the arena
    private boolean closed;

    private CpuGraph(Graph graph, IntConsumer packed) {
        this.graph = graph;
        int nodes = graph.nodes().size();
        kernels = new CpuKernel[nodes];
        written = new MemorySegment[nodes];
        try {
            boolean[] plain = plainOutputs(graph);
            Schedule planned;
            dnnl_memory_desc[] settled;
            do {
                long[] firstWorkspace = new long[nodes];
                dnnl_memory_desc[] md = layouts(graph, plain, null, firstWorkspace);
                planned = md == null ? null : Schedule.of(graph, new CpuStorage(md, firstWorkspace));
                settled = md == null ? null : settledLayouts(planned, md, plain);
            } while (settled == null);
            this.schedule = planned;
            layout = settled;
            long most = schedule.workspaceBytes();
            for (int i = 0; i < nodes; i++) {
                if (schedule.elided(i)) {
                    packed.accept(i);
                    continue;
                }
                Node n = graph.nodes().get(i);
                dnnl_memory_desc[] in = new dnnl_memory_desc[n.arity()];
                for (int j = 0; j < n.arity(); j++) {
                    in[j] = settled[n.input(j)];
                }
                kernels[i] = n.op() instanceof Op.Concat
                        ? new DnnlCopy(graph, n, in, settled[n.output()], sliced(i))
                        : CpuKernels.create(graph, n, in, settled[n.output()]);
                kernels[i].pack();
                packed.accept(i);
                // Strided outputs (concat slices) may ask for more scratch than the first pass's layouts did.
                most = Math.max(most, kernels[i].workspaceBytes());
            }
            workspaceBytes = most;
            staging = new MemorySegment[graph.inputs().size()];
            int k = 0;
            for (int v : graph.inputs().values()) {
                staging[k++] = arena.allocate(Math.max(graph.value(v).bytes(), 64), ArenaPlanner.ALIGNMENT);
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /**
     * Prepares a graph for the CPU: layouts chosen, schedule made, kernels created and their weights
     * packed, after which the graph's constants are no longer read; nothing is bound until {@link #bind},
     * so several graphs that run one after another can share one arena.
     *
     * @throws IllegalArgumentException if oneDNN refuses a node (the message names it)
     */
    public static CpuGraph prepare(Graph graph) {
        return new CpuGraph(graph, i -> { });
    }

    /**
     * As {@link #prepare(Graph)}, saying as it goes which nodes are done with the graph's constants, so
     * that their owner may free each one as soon as its last reader has packed it (rather than holding
     * the whole model twice until every kernel has packed).
     *
     * @param packed called with each node's index, in node order, once that node's kernel has packed its
     *     constants (at once for nodes the schedule elides); the node never reads them again
     */
    public static CpuGraph prepare(Graph graph, IntConsumer packed) {
        return new CpuGraph(graph, packed);
    }

    /** Prepares and binds a graph to an arena and workspace of its own. */
    public static CpuGraph compile(Graph graph) {
        CpuGraph g = new CpuGraph(graph, i -> { });
        try {
            g.bind(g.arena.allocate(Math.max(g.arenaBytes(), 64), ArenaPlanner.ALIGNMENT),
                    g.arena.allocate(Math.max(g.workspaceBytes(), 64), ArenaPlanner.ALIGNMENT));
            return g;
        } catch (RuntimeException e) {
            g.close();
            throw e;
        }
    }

    /** @return bytes of the arena this graph's values live in */
    public long arenaBytes() {
        return schedule.arenaBytes();
    }

    /** @return bytes of scratch the kernels need (one shared buffer) */
    public long workspaceBytes() {
        return workspaceBytes;
    }

    /**
     * Points every kernel at planned memory and packs the weights; once per graph. The memory may be
     * shared with graphs that run at other times: {@link #run} copies the outputs out before it returns.
     *
     * @param activations at least {@link #arenaBytes()}, aligned to {@link ArenaPlanner#ALIGNMENT}
     * @param workspace at least {@link #workspaceBytes()}
     */
    public void bind(MemorySegment activations, MemorySegment workspace) {
        checkOpen();
        if (this.activations != null) {
            throw new IllegalStateException("CPU graph already bound");
        }
        this.activations = activations;
        for (int i = 0; i < kernels.length; i++) {
            if (kernels[i] == null) {
                continue;
            }
            Node n = graph.nodes().get(i);
            MemorySegment[] inSegs = new MemorySegment[n.arity()];
            for (int j = 0; j < n.arity(); j++) {
                inSegs[j] = segment(n.input(j));
            }
            written[i] = segment(n.output()).asSlice(0, writtenBytes(n.output(), kernels[i].outputMd()));
            kernels[i].bind(inSegs, segment(n.output()), workspace);
        }
        outputs = new MemorySegment[graph.outputs().size()];
        int k = 0;
        for (int v : graph.outputs().values()) {
            outputs[k++] = segment(v).asSlice(0, graph.value(v).bytes());
        }
    }

    /**
     * @return the bytes from a value's first element to just past its last: its layout's size, except
     *     for a slice of a concat, whose strided layout oneDNN sizes as if it spanned the whole concat
     */
    private long writtenBytes(int v, dnnl_memory_desc md) {
        if (rowMajor(schedule, v)) {
            return dnnl_memory_desc_get_size(md);
        }
        long[] dims = graph.value(v).shape();
        long[] strides = schedule.strides(v);
        long last = 0;
        for (int k = 0; k < dims.length; k++) {
            last += (dims[k] - 1) * strides[k];
        }
        return (last + 1) * Float.BYTES;
    }

    /**
     * Every value's layout: graph inputs plain, each node's output as its kernel chooses, except where
     * {@code wanted} (per value, may be null) or {@code plain} needs it plain.
     *
     * <p>oneDNN has no fast implementation for some pairs of layouts (a conv reading a blocked input and
     * writing a plain or strided output runs its reference loop, 50 times slower than the same conv
     * from a plain input). Where a kernel would run a reference implementation over an input that is
     * not plain, that input is marked in {@code plain} and the choice starts again; the marks only grow,
     * so this ends.
     *
     * @return the layouts, or null if {@code plain} grew and the layouts must be chosen again
     */
    private dnnl_memory_desc[] layouts(Graph g, boolean[] plain, dnnl_memory_desc[] wanted, long[] workspace) {
        dnnl_memory_desc[] md = new dnnl_memory_desc[g.values().size()];
        for (int v : g.inputs().values()) {
            md[v] = plain(g.value(v).shape());
        }
        for (int i = 0; i < g.nodes().size(); i++) {
            Node n = g.nodes().get(i);
            dnnl_memory_desc[] in = new dnnl_memory_desc[n.arity()];
            for (int j = 0; j < n.arity(); j++) {
                in[j] = md[n.input(j)];
            }
            int y = n.output();
            dnnl_memory_desc want = wanted != null && wanted[y] != null ? wanted[y]
                    : plain[y] ? plain(g.value(y).shape()) : null;
            try (CpuKernel k = n.op() instanceof Op.Concat ? new DnnlCopy(g, n, in, want, null)
                    : CpuKernels.create(g, n, in, want)) {
                if (k.reference() && replan(g, n, in, plain)) {
                    return null;
                }
                md[y] = copy(k.outputMd());
                workspace[i] = k.workspaceBytes();
            }
        }
        return md;
    }

    /** Marks the inputs of {@code n} that a node writes in a non-plain layout; @return whether any was new. */
    private static boolean replan(Graph g, Node n, dnnl_memory_desc[] in, boolean[] plain) {
        boolean grew = false;
        for (int j = 0; j < n.arity(); j++) {
            int x = n.input(j);
            if (!plain[x] && g.producer(x) >= 0 && !DnnlLayouts.isPlain(in[j], g.value(x).shape())) {
                plain[x] = true;
                grew = true;
            }
        }
        return grew;
    }

    /** Values kept plain: graph outputs (read by the caller), concat inputs and view inputs (aliased byte for byte). */
    private static boolean[] plainOutputs(Graph g) {
        boolean[] plain = new boolean[g.values().size()];
        for (int v : g.outputs().values()) {
            plain[v] = true;
        }
        for (Node n : g.nodes()) {
            if (n.op() instanceof Op.Concat || n.op() instanceof Op.Reshape || n.op() instanceof Op.Slice) {
                for (int v : n.inputs()) {
                    plain[v] = true;
                }
                plain[n.output()] = true;
            }
        }
        return plain;
    }

    /**
     * The layouts after scheduling: a value written into its slice of a concat is strided there, every
     * other value keeps the layout the schedule sized it by (a conv reading a strided input may prefer
     * another output layout than it did from a dense one, which could be larger).
     *
     * @return the layouts, or null if a kernel writing a strided slice runs a reference implementation
     *     over a non-plain input: that input is then marked in {@code plain}, and the layouts, sizes and
     *     schedule must all be made again
     */
    private dnnl_memory_desc[] settledLayouts(Schedule planned, dnnl_memory_desc[] md, boolean[] plain) {
        dnnl_memory_desc[] wanted = new dnnl_memory_desc[md.length];
        boolean any = false;
        for (int v = 0; v < md.length; v++) {
            if (!rowMajor(planned, v)) {
                wanted[v] = own(Dnnl.strided(graph.value(v).shape(), planned.strides(v)));
                any = true;
            } else {
                wanted[v] = md[v];
            }
        }
        return any ? layouts(graph, plain, wanted, new long[graph.nodes().size()]) : md;
    }

    /** @return whether the schedule stores value {@code v} dense and row-major (not a slice of a concat) */
    private boolean rowMajor(Schedule s, int v) {
        return java.util.Arrays.equals(s.strides(v), Value.rowMajorStrides(graph.value(v).shape()));
    }

    private boolean[] sliced(int node) {
        boolean[] s = new boolean[graph.nodes().get(node).arity()];
        for (int j = 0; j < s.length; j++) {
            s[j] = schedule.sliced(node, j);
        }
        return s;
    }

    /** @return where value {@code v} lives: in the arena, or in its graph input's staging buffer */
    private MemorySegment segment(int v) {
        if (schedule.external(v)) {
            int root = schedule.root(v);
            int k = 0;
            for (int in : graph.inputs().values()) {
                if (in == root) {
                    return staging[k].asSlice(schedule.offset(v));
                }
                k++;
            }
            throw new IllegalStateException("value " + graph.value(v) + " is external but no input holds it");
        }
        return activations.asSlice(schedule.offset(v));
    }

    private dnnl_memory_desc plain(long[] dims) {
        return own(Dnnl.md(dims, DnnlLayouts.plainTag(dims.length)));
    }

    private dnnl_memory_desc copy(dnnl_memory_desc md) {
        dnnl_memory_desc c = new dnnl_memory_desc();
        Dnnl.check(dnnl_memory_desc_clone(c, md), "clone layout");
        return own(c);
    }

    private dnnl_memory_desc own(dnnl_memory_desc md) {
        descs.add(md);
        return md;
    }

    /**
     * Runs the graph.
     *
     * @param inputs one per graph input, in declaration order, dense float32 of its shape
     * @param results one per graph output, in declaration order, receiving dense float32 of its shape
     */
    public void run(MemorySegment[] inputs, MemorySegment[] results) {
        checkBound();
        stage(inputs);
        for (CpuKernel kernel : kernels) {
            if (kernel != null) {
                kernel.execute();
            }
        }
        Dnnl.check(dnnl_stream_wait(Dnnl.stream()), "stream wait");
        for (int k = 0; k < outputs.length; k++) {
            MemorySegment.copy(outputs[k], 0, results[k], 0, outputs[k].byteSize());
        }
    }

    /** Copies the caller's inputs into the staging buffers the kernels are bound to (~1 ms for 3 × 96³). */
    private void stage(MemorySegment[] inputs) {
        for (int k = 0; k < staging.length; k++) {
            MemorySegment.copy(inputs[k], 0, staging[k], 0, Math.min(inputs[k].byteSize(), staging[k].byteSize()));
        }
    }

    /**
     * Runs the graph, checking every node's output right after it runs.
     *
     * @param inputs as for {@link #run}
     * @return the name of the first node whose output holds a NaN or an infinity, or null if none does
     */
    public String firstNonFinite(MemorySegment[] inputs) {
        checkBound();
        stage(inputs);
        activations.fill((byte) 0); // nothing left from an earlier run may be taken for this one's
        for (int i = 0; i < kernels.length; i++) {
            if (kernels[i] == null) {
                continue;
            }
            kernels[i].execute();
            Dnnl.check(dnnl_stream_wait(Dnnl.stream()), "stream wait");
            if (!finite(written[i])) {
                return graph.nodes().get(i).name();
            }
        }
        return null;
    }

    private static boolean finite(MemorySegment floats) {
        for (long e = 0; e < floats.byteSize() / Float.BYTES; e++) {
            if (!Float.isFinite(floats.getAtIndex(JAVA_FLOAT, e))) {
                return false;
            }
        }
        return true;
    }

    /**
     * Checks the vectors the last {@link #run} wrote (every rank-2 node output: features, experts, gates,
     * towers). They are small (a few thousand floats for a PLE head), so this costs microseconds, and
     * they matter: oneDNN's ReLU is x86's max, which turns NaN into 0, so an overflow inside the head
     * could otherwise come out as a finite, plausible probability.
     *
     * @return the name of the first node whose vector output holds a NaN or an infinity, or null
     */
    public String firstNonFiniteVector() {
        checkBound();
        for (int i = 0; i < kernels.length; i++) {
            if (kernels[i] != null && graph.value(graph.nodes().get(i).output()).rank() == 2 && !finite(written[i])) {
                return graph.nodes().get(i).name();
            }
        }
        return null;
    }

    /** Receives each node's output during {@link #runVisiting}. */
    @FunctionalInterface
    public interface NodeVisitor {
        /**
         * @param node index of the node that just ran
         * @param output its output, dense row-major float32 of its logical shape
         * @return whether to go on
         */
        boolean visit(int node, float[] output);
    }

    /**
     * Runs the graph node by node, reading every working node's output back right after it runs (before
     * a later node can reuse its bytes): for debugging a model value by value against
     * {@code Reference.runAll}, so that a mismatch names the first node that differs. Slow; allocates.
     *
     * @param inputs as for {@link #run}
     */
    public void runVisiting(MemorySegment[] inputs, NodeVisitor visitor) {
        checkBound();
        stage(inputs);
        for (int i = 0; i < kernels.length; i++) {
            if (kernels[i] == null) {
                continue;
            }
            kernels[i].execute();
            Dnnl.check(dnnl_stream_wait(Dnnl.stream()), "stream wait");
            int v = graph.nodes().get(i).output();
            long[] dims = graph.value(v).shape();
            dnnl_memory_desc plainMd = Dnnl.md(dims, DnnlLayouts.plainTag(dims.length));
            float[] out;
            try (Arena local = Arena.ofConfined()) {
                MemorySegment plain = local.allocate(graph.value(v).bytes(), 64);
                DnnlLayouts.reorder(layout[v], segment(v), plainMd, plain);
                out = plain.toArray(JAVA_FLOAT);
            } finally {
                dnnl_memory_desc_destroy(plainMd);
            }
            if (!visitor.visit(i, out)) {
                return;
            }
        }
    }

    /** @return the schedule this graph runs by */
    public Schedule schedule() {
        return schedule;
    }

    /** @return bytes of weights held in the kernels' layouts */
    public long weightBytes() {
        long s = 0;
        for (CpuKernel k : kernels) {
            s += k == null ? 0 : k.weightBytes();
        }
        return s;
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("CPU graph closed");
        }
    }

    private void checkBound() {
        checkOpen();
        if (activations == null) {
            throw new IllegalStateException("CPU graph not bound to memory yet");
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (kernels != null) {
            for (CpuKernel k : kernels) {
                if (k != null) {
                    k.close();
                }
            }
        }
        for (dnnl_memory_desc md : descs) {
            dnnl_memory_desc_destroy(md);
        }
        arena.close();
    }

    /** What the CPU's layouts allow the schedule. */
    private static final class CpuStorage implements Storage {
        private final dnnl_memory_desc[] md; // per value: its layout from the first pass
        private final long[] workspace; // per node: its kernel's scratchpad bytes

        CpuStorage(dnnl_memory_desc[] md, long[] workspace) {
            this.md = md;
            this.workspace = workspace;
        }

        @Override
        public long bytes(Graph graph, int value) {
            return dnnl_memory_desc_get_size(md[value]);
        }

        @Override
        public boolean canAlias(Graph graph, int node, int input, Alias how) {
            Node n = graph.nodes().get(node);
            int x = n.input(input);
            return switch (how) {
                // A residual conv writes in its residual's layout. An add writes in its first input's unless the
                // plan wants its output plain (a graph output, or a concat input such as a U-Net skip): written
                // over an input of another layout, it would overwrite elements it has yet to read.
                case IN_PLACE -> n.op() instanceof Op.Conv3d || dnnl_memory_desc_equal(md[x], md[n.output()]) != 0;
                case RESHAPE, SLICE -> DnnlLayouts.isPlain(md[x], graph.value(x).shape());
                // Only kernels that take the layout they write can write into a strided slice.
                case CONCAT -> graph.producer(x) >= 0 && switch (graph.nodes().get(graph.producer(x)).op()) {
                    case Op.Conv3d c -> true;
                    // Not a transposed conv: oneDNN's deconvolution writing a strided slice of a batch of two or
                    // more ran past the scratchpad it had asked for (a U-Net's decoder, heap corrupted, JVM
                    // crash at close); it writes its own buffer and the concat copies it.
                    case Op.ConvTranspose3d t -> false;
                    case Op.MaxPool3d m -> true;
                    case Op.InstanceNorm3d in -> true;
                    case Op.BatchNorm b -> true;
                    default -> false;
                };
            };
        }

        @Override
        public long workspace(Graph graph, int node) {
            return workspace[node];
        }
    }
}
