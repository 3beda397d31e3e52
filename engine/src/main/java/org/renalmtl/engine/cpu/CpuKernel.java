package org.renalmtl.engine.cpu;

import static org.bytedeco.dnnl.global.dnnl.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.dnnl.dnnl_exec_arg_t;
import org.bytedeco.dnnl.dnnl_memory;
import org.bytedeco.dnnl.dnnl_memory_desc;
import org.bytedeco.dnnl.dnnl_post_ops;
import org.bytedeco.dnnl.dnnl_primitive;
import org.bytedeco.dnnl.dnnl_primitive_attr;
import org.bytedeco.dnnl.dnnl_primitive_desc;
import org.renalmtl.engine.graph.Activation;
import org.renalmtl.engine.graph.Graph;
import org.renalmtl.engine.graph.Node;

/**
 * One graph node bound to the CPU for the layouts of its inputs: the CPU backend's unit of work. Made
 * in two steps, as the plan needs: the constructor chooses the output's layout (oneDNN's preference
 * where the op is free to choose, so blocked formats propagate from conv to conv) and the weights'
 * layout; {@link #bind} then points it at planned memory once and packs the weights; {@link #execute}
 * runs it without allocating.
 *
 * <p>Subclasses own native objects through {@link #own}; {@link #close} destroys them in reverse order.
 */
abstract class CpuKernel implements AutoCloseable {
    private final List<Object> owned = new ArrayList<>();
    private Arena weightArena;
    private long weightBytes; // packed weights allocated so far
    private boolean packed;
    protected final Graph graph;
    protected final Node node;
    protected final String executing; // the failure message of execute(), made once: the forward allocates nothing

    CpuKernel(Graph graph, Node node) {
        this.graph = graph;
        this.node = node;
        this.executing = "execute " + node.name();
    }

    /** @return the layout the output is written in (owned by this kernel) */
    abstract dnnl_memory_desc outputMd();

    /** @return oneDNN scratchpad bytes this kernel needs during {@link #execute} (shared, planned by the caller) */
    long workspaceBytes() {
        return 0;
    }

    /**
     * @return whether oneDNN runs this node with a reference implementation (a scalar loop, tens of
     *     times slower than its jit ones) for the layouts it was given; the plan then gives the node
     *     plain inputs, for which oneDNN has fast implementations
     */
    boolean reference() {
        return false;
    }

    /** @return bytes of weights this kernel holds in its own layout after {@link #bind} */
    final long weightBytes() {
        return weightBytes;
    }

    /**
     * Copies the kernel's constants (weights, biases, norm vectors) into its own memory, in the layouts
     * its primitive chose; once. After it the graph's constants are not read again, so their owner may
     * free them before the arena is allocated: the file's copy and the packed copy never meet the arena.
     */
    final void pack() {
        if (!packed) {
            packed = true;
            packConstants();
        }
    }

    /** Packs this kernel's constants; kernels without any keep this default. */
    void packConstants() {
    }

    /**
     * Points the kernel at its buffers, packing its constants first if {@link #pack} was not called.
     * Called once per plan: the arena does not move, so the forward only executes.
     *
     * @param inputs one segment per node input, each at least its layout's size
     * @param output the output's bytes
     * @param workspace the shared scratchpad, at least {@link #workspaceBytes()}
     */
    abstract void bind(MemorySegment[] inputs, MemorySegment output, MemorySegment workspace);

    /** Runs the node on the bound buffers; the caller waits on the stream before reading results. */
    abstract void execute();

    /** @return {@code nativeObject}, destroyed when this kernel closes */
    protected <T> T own(T nativeObject) {
        owned.add(nativeObject);
        return nativeObject;
    }

    /** @return off-heap bytes for packed weights, counted in {@link #weightBytes()}, freed when this kernel closes */
    protected MemorySegment weightMemory(long bytes) {
        if (weightArena == null) {
            weightArena = Arena.ofShared();
        }
        weightBytes += bytes;
        return weightArena.allocate(Math.max(bytes, 64), 64);
    }

    /** @return a copy of a constant's first {@code bytes} bytes in this kernel's weight memory (biases, norm vectors) */
    protected MemorySegment copyConstant(String name, long bytes) {
        MemorySegment c = weightMemory(bytes);
        MemorySegment.copy(graph.constant(name).data(), 0, c, 0, bytes);
        return c;
    }

    /** @return a oneDNN memory object over {@code seg} with layout {@code md} */
    protected dnnl_memory memory(dnnl_memory_desc md, MemorySegment seg) {
        MutablePointer handle = own(new MutablePointer(seg)); // reachable while oneDNN holds its address
        dnnl_memory m = own(new dnnl_memory());
        Dnnl.check(dnnl_memory_create(m, md, Dnnl.engine(), handle), "memory for " + node.name());
        return m;
    }

    /** @return an argument list for {@code dnnl_primitive_execute} */
    private dnnl_exec_arg_t args(int[] kinds, dnnl_memory[] mems) {
        dnnl_exec_arg_t a = own(new dnnl_exec_arg_t(kinds.length));
        for (int i = 0; i < kinds.length; i++) {
            a.position(i).arg(kinds[i]).memory(mems[i]);
        }
        return a.position(0);
    }

    /** A primitive bound to its arguments: what {@link #execute} runs, without allocating. */
    protected final class Call {
        private final dnnl_primitive primitive;
        private final dnnl_exec_arg_t args;
        private final int nargs;

        private Call(dnnl_primitive primitive, dnnl_exec_arg_t args, int nargs) {
            this.primitive = primitive;
            this.args = args;
            this.nargs = nargs;
        }

        /** Runs the primitive on the stream. */
        void run() {
            Dnnl.check(dnnl_primitive_execute(primitive, Dnnl.stream(), nargs, args), executing);
        }
    }

    /** @return a primitive for {@code pd} bound to {@code mems} as arguments {@code kinds} */
    protected Call call(dnnl_primitive_desc pd, int[] kinds, dnnl_memory[] mems) {
        dnnl_primitive p = own(new dnnl_primitive());
        Dnnl.check(dnnl_primitive_create(p, pd), "primitive for " + node.name());
        return new Call(p, args(kinds, mems), kinds.length);
    }

    /**
     * @param bias the bias memory, or null for a primitive without one
     * @return a convolution's or inner product's primitive bound to source, weights, optional bias,
     *     destination and scratchpad
     */
    protected Call weightedCall(dnnl_primitive_desc pd, dnnl_memory src, dnnl_memory weights, dnnl_memory bias,
            dnnl_memory dst, dnnl_memory scratchpad) {
        return bias == null
                ? call(pd, new int[] {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST, DNNL_ARG_SCRATCHPAD},
                        new dnnl_memory[] {src, weights, dst, scratchpad})
                : call(pd, new int[] {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_BIAS, DNNL_ARG_DST, DNNL_ARG_SCRATCHPAD},
                        new dnnl_memory[] {src, weights, bias, dst, scratchpad});
    }

    /** @return the memory of {@code pd}'s scratchpad over the shared {@code workspace} */
    protected dnnl_memory scratchpad(dnnl_primitive_desc pd, MemorySegment workspace) {
        return memory(dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0), workspace);
    }

    /** @return scratchpad bytes of {@code pd} (user-managed scratchpad, see {@link #attr}) */
    protected static long scratchpadBytes(dnnl_primitive_desc pd) {
        return dnnl_memory_desc_get_size(dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0));
    }

    /**
     * @param sum whether the output is accumulated into (oneDNN's sum post-op: a residual written over)
     * @param activation applied last
     * @return attributes with a user-managed scratchpad and those post-ops
     */
    protected dnnl_primitive_attr attr(boolean sum, Activation activation) {
        dnnl_primitive_attr attr = own(new dnnl_primitive_attr());
        Dnnl.check(dnnl_primitive_attr_create(attr), "attr");
        Dnnl.check(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user), "scratchpad mode");
        if (sum || activation.kind() != Activation.Kind.NONE) {
            dnnl_post_ops po = own(new dnnl_post_ops());
            Dnnl.check(dnnl_post_ops_create(po), "post-ops");
            if (sum) {
                Dnnl.check(dnnl_post_ops_append_sum(po, 1f, 0, dnnl_data_type_undef), "sum post-op");
            }
            if (activation.kind() != Activation.Kind.NONE) {
                Dnnl.check(dnnl_post_ops_append_eltwise(po, eltwise(activation), activation.slope(), 0f), "eltwise post-op");
            }
            Dnnl.check(dnnl_primitive_attr_set_post_ops(attr, po), "set post-ops");
        }
        return attr;
    }

    /** @return oneDNN's algorithm for an activation (leaky ReLU is ReLU with alpha = slope) */
    static int eltwise(Activation a) {
        return switch (a.kind()) {
            case RELU, LEAKY_RELU -> dnnl_eltwise_relu;
            case SIGMOID -> dnnl_eltwise_logistic;
            case TANH -> dnnl_eltwise_tanh;
            case NONE -> throw new IllegalArgumentException("no eltwise for the identity");
        };
    }

    /** @return a float32 memory descriptor with layout {@code tag} (oneDNN's {@code any} lets a primitive choose) */
    protected dnnl_memory_desc md(long[] dims, int tag) {
        return own(Dnnl.md(dims, tag));
    }

    /** @return the plain row-major layout of {@code dims} (ncdhw, nc, …) */
    protected dnnl_memory_desc plain(long[] dims) {
        return md(dims, DnnlLayouts.plainTag(dims.length));
    }

    /**
     * Copies a constant from its plain layout ({@code srcTag}) into {@code dstMd}, once, at bind time.
     *
     * @return the packed bytes
     */
    protected MemorySegment pack(String constant, long[] dims, int srcTag, dnnl_memory_desc dstMd) {
        MemorySegment src = graph.constant(constant).data();
        MemorySegment dst = weightMemory(dnnl_memory_desc_get_size(dstMd));
        DnnlLayouts.reorder(own(Dnnl.md(dims, srcTag)), src, dstMd, dst);
        return dst;
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
            weightArena = null;
        }
    }
}
