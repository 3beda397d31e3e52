package org.renalmtl.engine.cuda;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.bytedeco.cuda.global.cudart.cudaMemcpy;
import static org.bytedeco.cuda.global.cudart.cudaMemcpyDeviceToHost;
import static org.bytedeco.cuda.global.cudart.cudaMemsetAsync;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import org.renalmtl.engine.graph.Graph;
import org.renalmtl.engine.graph.Node;
import org.renalmtl.engine.graph.Op;
import org.renalmtl.engine.graph.Schedule;
import org.renalmtl.engine.graph.Storage;
import org.renalmtl.engine.graph.Value;

/**
 * A graph compiled for one GPU: every node bound to its cuDNN, cuBLAS or own kernel
 * ({@link CudaKernels}), every value placed by the backend-neutral {@link Schedule} in one arena, the
 * twin of the CPU's {@code CpuGraph}. Volumes are channels-last (NDHWC), which tensor cores want
 * (NCDHW would make cuDNN transpose around every convolution); that is this backend's whole say in
 * memory ({@link CudaStorage}): channels-last volumes cannot be reshaped, sliced along channels or
 * concatenated in place under the schedule's row-major addresses, so those nodes copy
 * ({@link CudaCopy}), and the rest of the schedule's aliases hold as on any backend.
 *
 * <p>Graph inputs arrive dense row-major (the caller's NCDHW) at device addresses the caller gives;
 * views of them (a phase out of the stacked input) are read there. An input volume with more than one
 * channel that a node reads whole is first copied to channels-last in a buffer of its own. Graph
 * outputs are copied out of the arena, back to dense row-major, to device addresses the caller gives.
 * Steps: {@link #prepare} (layouts, schedule, kernels), {@link #register} (weights into the plan's
 * block), {@link #bind} (addresses, descriptors, launch arguments), {@link #choose} (algorithms,
 * outside any capture), {@link #setWorkspace}, then {@link #enqueue} any number of times: it allocates
 * nothing and can be captured into a CUDA graph.
 */
final class CudaGraph implements AutoCloseable {
    private final Graph graph;
    private final Schedule schedule;
    private final CudaKernel[] kernels; // per node: its kernel, null where the schedule elides it
    private final boolean[] toChannelsLast; // per value: a graph input that nodes read from a channels-last copy
    private final List<Kernels.Launch> inputCopies = new ArrayList<>(); // graph inputs to channels-last
    private final List<Kernels.Launch> outputCopies = new ArrayList<>(); // graph outputs to dense row-major
    private final List<DeviceBuffer> buffers = new ArrayList<>(); // the channels-last copies of inputs
    private DeviceTensor[] placed; // per value: where and how it lives, once bound
    private long arena;
    private boolean closed;

    private CudaGraph(Graph graph) {
        this.graph = graph;
        this.schedule = Schedule.of(graph, new CudaStorage());
        int nodes = graph.nodes().size();
        kernels = new CudaKernel[nodes];
        toChannelsLast = new boolean[graph.values().size()];
        try {
            for (int i = 0; i < nodes; i++) {
                if (schedule.elided(i)) {
                    continue;
                }
                Node n = graph.nodes().get(i);
                boolean[] sliced = new boolean[n.arity()];
                for (int j = 0; j < sliced.length; j++) {
                    sliced[j] = schedule.sliced(i, j);
                }
                kernels[i] = CudaKernels.create(graph, n, sliced);
                for (int v : n.inputs()) {
                    toChannelsLast[v] |= graph.producer(v) < 0 && volume(graph, v);
                }
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /**
     * Schedules a graph for the GPU and creates its kernels; touches no device.
     *
     * @throws IllegalArgumentException if an extent exceeds what the kernels take (the message names the node)
     */
    static CudaGraph prepare(Graph graph) {
        return new CudaGraph(graph);
    }

    /** @return the schedule this graph runs by */
    Schedule schedule() {
        return schedule;
    }

    /** @return bytes of the arena this graph's values live in */
    long arenaBytes() {
        return schedule.arenaBytes();
    }

    /** Adds every node's constants, in its kernel's layout, to the plan's weight block. */
    void register(WeightBlock weights) {
        for (CudaKernel k : kernels) {
            if (k != null) {
                k.register(weights);
            }
        }
    }

    /**
     * Places every value and binds every kernel; once.
     *
     * @param arena device address of at least {@link #arenaBytes()}, 256-byte aligned
     * @param weights device address of the uploaded weight block
     * @param inputs per graph input, in declaration order: device address of its dense row-major data
     * @param outputs per graph output, in declaration order: device address receiving dense row-major data
     */
    void bind(CudaContext ctx, long arena, long weights, long[] inputs, long[] outputs) {
        checkOpen();
        if (placed != null) {
            throw new IllegalStateException("CUDA graph already bound");
        }
        this.arena = arena;
        placed = new DeviceTensor[graph.values().size()];
        int k = 0;
        for (int v : graph.inputs().values()) {
            placed[v] = new DeviceTensor(inputs[k++], graph.value(v).shape(), Value.rowMajorStrides(graph.value(v).shape()));
        }
        for (int v = 0; v < placed.length; v++) {
            if (placed[v] == null) {
                placed[v] = place(v);
            }
        }
        DeviceTensor[] read = placed.clone(); // what kernels read: inputs' channels-last copies where made
        for (int v : graph.inputs().values()) {
            if (toChannelsLast[v]) {
                long[] dims = graph.value(v).shape();
                DeviceBuffer b = DeviceBuffer.allocate(graph.value(v).bytes(), graph.value(v).name() + " in channels-last");
                buffers.add(b);
                read[v] = new DeviceTensor(b.address(), dims, DeviceTensor.channelsLast(dims));
                inputCopies.add(CudaCopy.copy(ctx.kernels, read[v], placed[v]));
            }
        }
        for (int i = 0; i < kernels.length; i++) {
            if (kernels[i] == null) {
                continue;
            }
            Node n = graph.nodes().get(i);
            DeviceTensor[] in = new DeviceTensor[n.arity()];
            for (int j = 0; j < in.length; j++) {
                in[j] = read[n.input(j)];
            }
            kernels[i].bind(ctx, in, placed[n.output()], weights);
        }
        k = 0;
        for (int v : graph.outputs().values()) {
            long[] dims = graph.value(v).shape();
            outputCopies.add(CudaCopy.copy(ctx.kernels, new DeviceTensor(outputs[k++], dims, Value.rowMajorStrides(dims)),
                    placed[v]));
        }
    }

    /** @return where value {@code v} lives: in the arena, or in the memory of the graph input it views */
    private DeviceTensor place(int v) {
        long[] dims = graph.value(v).shape();
        long[] strides = CudaStorage.channelsLast(graph, v) ? DeviceTensor.channelsLast(dims) : schedule.strides(v);
        if (schedule.external(v)) {
            return new DeviceTensor(placed[schedule.root(v)].address() + schedule.offset(v), dims, strides);
        }
        return new DeviceTensor(arena + schedule.offset(v), dims, strides);
    }

    /**
     * Chooses every convolution's algorithm on the bound memory (overwriting it); outside any capture.
     *
     * @return the most workspace any chosen way needs
     */
    long choose(CudaContext ctx, long scratch, long scratchBytes, FindExCache cache) {
        checkBound();
        long most = 0;
        for (CudaKernel k : kernels) {
            if (k != null) {
                most = Math.max(most, k.choose(ctx, scratch, scratchBytes, cache));
            }
        }
        return most;
    }

    /** Hands every kernel the plan's workspace. */
    void setWorkspace(long address, long bytes) {
        for (CudaKernel k : kernels) {
            if (k != null) {
                k.setWorkspace(address, bytes);
            }
        }
    }

    /** Issues the graph on the context's stream: inputs to channels-last, every node, outputs out; allocates nothing. */
    void enqueue(CudaContext ctx) {
        checkBound();
        for (Kernels.Launch l : inputCopies) {
            l.enqueue(ctx.stream);
        }
        for (CudaKernel k : kernels) {
            if (k != null) {
                k.enqueue(ctx);
            }
        }
        for (Kernels.Launch l : outputCopies) {
            l.enqueue(ctx.stream);
        }
    }

    /**
     * Runs the graph node by node on the inputs already at the bound addresses, reading each node's
     * output back right after it runs: for the message of a non-finite result only (slow).
     *
     * @return the name of the first node whose output holds a NaN or an infinity, or null if none does
     */
    String firstNonFinite(CudaContext ctx) {
        checkBound();
        // Nothing left from an earlier run may be taken for this one's (a strided slice spans its neighbours).
        Cuda.check(cudaMemsetAsync(Cuda.at(arena), 0, Math.max(schedule.arenaBytes(), 1), ctx.stream), "clear the arena");
        for (Kernels.Launch l : inputCopies) {
            l.enqueue(ctx.stream);
        }
        for (int i = 0; i < kernels.length; i++) {
            if (kernels[i] == null) {
                continue;
            }
            kernels[i].enqueue(ctx);
            ctx.synchronize(graph.nodes().get(i).name());
            if (!finite(placed[graph.nodes().get(i).output()])) {
                return graph.nodes().get(i).name();
            }
        }
        return null;
    }

    private static boolean finite(DeviceTensor t) {
        long last = 0;
        for (int a = 0; a < t.rank(); a++) {
            last += (t.dim(a) - 1) * t.stride(a);
        }
        long bytes = (last + 1) * Float.BYTES;
        try (Arena host = Arena.ofConfined()) {
            MemorySegment s = host.allocate(bytes, 64);
            Cuda.check(cudaMemcpy(Cuda.at(s.address()), Cuda.at(t.address()), bytes, cudaMemcpyDeviceToHost),
                    "read back a node's output");
            for (long e = 0; e <= last; e++) {
                if (!Float.isFinite(s.getAtIndex(JAVA_FLOAT, e))) {
                    return false;
                }
            }
        }
        return true;
    }

    /** @return the kernel node {@code i} runs on, null where the schedule elides the node (tests switch a conv's path) */
    CudaKernel kernel(int i) {
        return kernels[i];
    }

    /** @return how each convolution runs, in graph order */
    List<ConvChoice> convolutions() {
        List<ConvChoice> out = new ArrayList<>();
        for (CudaKernel k : kernels) {
            if (k != null) {
                out.addAll(k.choices());
            }
        }
        return out;
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("CUDA graph closed");
        }
    }

    private void checkBound() {
        checkOpen();
        if (placed == null) {
            throw new IllegalStateException("CUDA graph not bound to memory yet");
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (CudaKernel k : kernels) {
            if (k != null) {
                k.close();
            }
        }
        for (DeviceBuffer b : buffers) {
            b.close();
        }
    }

    /** @return whether value {@code v} is a volume whose channels-last bytes differ from its row-major ones */
    private static boolean volume(Graph g, int v) {
        long[] s = g.value(v).shape();
        return s.length == 5 && s[1] > 1 && s[2] * s[3] * s[4] > 1;
    }

    /** What channels-last storage allows the schedule. */
    static final class CudaStorage implements Storage {
        /** @return whether value {@code v} is stored channels-last where that differs from row-major (graph inputs never are) */
        static boolean channelsLast(Graph g, int v) {
            return volume(g, v) && g.producer(v) >= 0;
        }

        @Override
        public boolean canAlias(Graph graph, int node, int input, Alias how) {
            Node n = graph.nodes().get(node);
            int x = n.input(input);
            int y = n.output();
            return switch (how) {
                case IN_PLACE -> true; // a residual conv and an add write in their inputs' layout
                case RESHAPE -> !channelsLast(graph, x) && !channelsLast(graph, y);
                // Samples are contiguous in either layout; anything else slices row-major bytes only.
                case SLICE -> channelsLast(graph, x) == channelsLast(graph, y)
                        && (((Op.Slice) n.op()).axis() == 0 || !channelsLast(graph, x));
                // A channels-last volume's channel slice is no row-major range. Rows of a matrix are: a
                // strided slice only where its writer and every other reader take a row stride.
                case CONCAT -> !channelsLast(graph, y) && (graph.value(x).dim(0) == 1 || strideAware(graph, x, node));
            };
        }

        private static boolean strideAware(Graph graph, int x, int concat) {
            if (graph.producer(x) < 0 || !(graph.nodes().get(graph.producer(x)).op() instanceof Op.GlobalAvgPool)) {
                return false;
            }
            for (int reader : graph.consumers(x)) {
                if (reader != concat && !(graph.nodes().get(reader).op() instanceof Op.Linear)) {
                    return false;
                }
            }
            return true;
        }
    }
}
