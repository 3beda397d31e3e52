package org.renalmtl.engine.cuda;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.bytedeco.cuda.global.cublas.cublasSetWorkspace_v2;
import static org.bytedeco.cuda.global.cudart.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.bytedeco.cuda.cudart.CUevent_st;
import org.bytedeco.cuda.cudart.CUgraphExec_st;
import org.bytedeco.cuda.cudart.CUgraph_st;
import org.renalmtl.engine.Precision;
import org.renalmtl.engine.graph.ClassifierGraphs;
import org.renalmtl.engine.graph.FoldBatchNorm;
import org.renalmtl.engine.graph.FuseResidual;
import org.renalmtl.engine.graph.Graph;
import org.renalmtl.engine.plan.ArenaPlanner;
import org.renalmtl.engine.plan.ExecutionPlan;
import org.renalmtl.engine.plan.MemoryBudget;
import org.renalmtl.weights.ModelConfig;
import org.renalmtl.weights.Tensor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A model on one GPU for one shape (cases, D, H, W), the twin of {@code cpu.CpuPlan}: each network
 * the same {@link Graph} the CPU runs (built from the config, BatchNorm folded, residual adds fused)
 * compiled by {@link CudaGraph}; ONE weight allocation; ONE activation arena sized for the largest
 * network (they run one after another), followed by the device input and every network's outputs
 * (probabilities, features), contiguous so one copy brings them all back; one workspace (cuDNN's
 * largest chosen algorithm and cuBLAS's); pinned host staging; and the whole forward captured once
 * as a CUDA graph. After creation {@link #forward} calls no {@code cudaMalloc} and no cuDNN search:
 * it copies the input into pinned memory, replays the graph (upload, every network, download) and
 * scatters the probabilities into the model's task order.
 *
 * <p>Creation order: the context (the precision's cuDNN math types, {@code ConvMath.decide}: refused,
 * or narrowed by a known cuDNN bug, with a logged warning; handles; stream; kernels); graphs and their
 * weights; the memory check and allocations; binding (descriptors, each read back); algorithm choice
 * per convolution on a temporary workspace (one search per distinct layer, {@code FindExCache}, then a
 * trial of the fused call); the exact workspace; two eager warm-up forwards on the capture stream
 * (cuDNN and cuBLAS create things lazily); capture; instantiate; one replay.
 * {@link #memGetInfoDeltaBytes()} is the device memory all of this took, by {@code cudaMemGetInfo}
 * (the CUDA context excluded).
 *
 * <p>Not thread-safe: {@code Model} serialises callers. Close it to free the device memory.
 */
public final class CudaPlan implements ExecutionPlan {
    private static final Logger LOG = LoggerFactory.getLogger(CudaPlan.class);
    /** The cuDNN algorithm search may try workspaces up to this size (or half the free memory). */
    private static final long SEARCH_WORKSPACE_CAP = 1L << 30;
    /** cuBLAS workspace we hand it, so it never allocates during capture (its GEMMs here are tiny). */
    private static final long BLAS_WORKSPACE = 4L << 20;

    private final ModelConfig config;
    private final int cases;
    private final int[] size;
    private final int device;
    private final long inputBytes; // (cases, phases, D, H, W) float32
    private final List<CudaGraph> graphs = new ArrayList<>(); // per network, in config order
    private final int[][] taskColumns; // per network: its tasks' columns in the model's output
    private final long[] probabilityOffset; // per network: bytes into the outputs // (cases, tasks of the network)
    private final long[] featureOffset; // per network: bytes into the outputs // (cases, fused)
    private final long[] featureBytes; // per network
    private final Arena hostArena = Arena.ofShared();
    private final MemorySegment[] hostFeatures; // per network: the last forward's features // (cases, fused)
    private CudaContext ctx;
    private DeviceBuffer weights;
    private DeviceBuffer arena; // activations, then the input, then every network's outputs
    private DeviceBuffer workspace;
    private PinnedBuffer pinnedIn; // (cases, phases, D, H, W)
    private PinnedBuffer pinnedOut; // every network's outputs, as in the arena
    private CUgraph_st graph;
    private CUgraphExec_st graphExec;
    private long deviceInput; // (cases, phases, D, H, W)
    private long deviceOutputs; // every network's probabilities and features
    private long outputBytes;
    private long activationBytes;
    private long lowerBound;
    private long convWorkspaceBytes;
    private long peakOwnBytes;
    private long memGetInfoDelta;
    private boolean closed;

    /**
     * Builds the plan on device {@code deviceIndex}.
     *
     * @param config model config
     * @param tensors weights by name; only read while the plan is built
     * @param cases cases per forward
     * @param size (D, H, W) of one phase
     * @param deviceIndex CUDA ordinal
     * @param precision convolution and GEMM arithmetic
     * @throws UnsupportedOperationException if the GPU is unusable, or the precision unavailable in
     *     this build or refused on this cuDNN version ({@code ConvMath.decide})
     * @throws CudaException if a CUDA call fails (e.g. out of memory)
     */
    public CudaPlan(ModelConfig config, Map<String, Tensor> tensors, int cases, int[] size, int deviceIndex,
            Precision precision) {
        this.config = config;
        this.cases = cases;
        this.size = size.clone();
        this.device = deviceIndex;
        int n = config.networks().size();
        this.inputBytes = (long) cases * config.phases().size() * size[0] * size[1] * size[2] * Float.BYTES;
        this.taskColumns = new int[n][];
        this.probabilityOffset = new long[n];
        this.featureOffset = new long[n];
        this.featureBytes = new long[n];
        this.hostFeatures = new MemorySegment[n];
        ctx = new CudaContext(deviceIndex, precision);
        try {
            if (ctx.math.guard() != null) {
                LOG.warn("precision {}: {}", precision.label(), ctx.math.guard());
            }
            build(tensors);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    private void build(Map<String, Tensor> tensors) {
        long free0 = ctx.freeDeviceBytes();
        WeightBlock block = new WeightBlock();
        long act = 0;
        long lower = 0;
        long out = 0;
        try (Arena folded = Arena.ofConfined()) { // folded weights: copied into the block, then freed
            for (int i = 0; i < config.networks().size(); i++) {
                ModelConfig.Network net = config.networks().get(i);
                Graph g = FuseResidual.apply(FoldBatchNorm.apply(
                        ClassifierGraphs.build(config, net, tensors, cases, size), folded, false));
                CudaGraph cg = CudaGraph.prepare(g);
                graphs.add(cg);
                cg.register(block);
                taskColumns[i] = net.tasks().stream().mapToInt(config::taskIndex).toArray();
                act = Math.max(act, cg.arenaBytes());
                lower = Math.max(lower, cg.schedule().lowerBound());
                probabilityOffset[i] = out;
                out += ArenaPlanner.align(g.value(g.outputs().get(ClassifierGraphs.PROBABILITIES)).bytes());
                featureOffset[i] = out;
                featureBytes[i] = g.value(g.outputs().get(ClassifierGraphs.FEATURES)).bytes();
                out += ArenaPlanner.align(featureBytes[i]);
            }
        }
        activationBytes = act;
        lowerBound = lower;
        outputBytes = out;
        long inputAt = ArenaPlanner.align(act);
        long outputsAt = inputAt + ArenaPlanner.align(inputBytes);
        // Checked before the first cudaMalloc, with the figures: an input size implying more than the device
        // holds is a bad input (exit 2), not a CUDA out-of-memory error half-way through the allocations.
        MemoryBudget.check("weights and activations for " + cases + " case(s) of " + size[0] + "×" + size[1] + "×"
                + size[2], block.bytes() + outputsAt + out, ctx.freeDeviceBytes(), "cuda:" + device + " (free)");
        weights = block.upload();
        arena = DeviceBuffer.allocate(outputsAt + out, "activation arena, input and outputs");
        trackPeak(0);
        pinnedIn = new PinnedBuffer(inputBytes, "input staging");
        pinnedOut = new PinnedBuffer(out, "output staging");
        pinnedIn.segment().fill((byte) 0); // the warm-ups run on it: defined input, no NaN from stale bytes
        deviceInput = arena.address() + inputAt;
        deviceOutputs = arena.address() + outputsAt;
        for (int i = 0; i < graphs.size(); i++) {
            Graph g = graphs.get(i).schedule().graph();
            long[] outputs = new long[g.outputs().size()];
            int k = 0;
            for (String name : g.outputs().keySet()) {
                outputs[k++] = deviceOutputs
                        + (name.equals(ClassifierGraphs.PROBABILITIES) ? probabilityOffset[i] : featureOffset[i]);
            }
            graphs.get(i).bind(ctx, arena.address(), weights.address(), new long[] {deviceInput}, outputs);
            hostFeatures[i] = hostArena.allocate(Math.max(featureBytes[i], 4), 64);
        }

        long searchBytes = Math.min(SEARCH_WORKSPACE_CAP, ctx.freeDeviceBytes() / 2);
        long most = 0;
        FindExCache found = new FindExCache();
        try (DeviceBuffer search = DeviceBuffer.allocate(searchBytes, "cuDNN algorithm search")) {
            trackPeak(search.bytes());
            for (CudaGraph g : graphs) {
                most = Math.max(most, g.choose(ctx, search.address(), search.bytes(), found));
            }
        }
        LOG.debug("cuDNN: {} algorithm searches for {} convolutions", found.searches(), convolutions().size());
        convWorkspaceBytes = most;
        long wsBlas = ArenaPlanner.align(most);
        workspace = DeviceBuffer.allocate(wsBlas + BLAS_WORKSPACE, "workspace");
        trackPeak(0);
        for (CudaGraph g : graphs) {
            g.setWorkspace(workspace.address(), most);
        }
        Cuda.checkBlas(cublasSetWorkspace_v2(ctx.blas, Cuda.at(workspace.address() + wsBlas), BLAS_WORKSPACE),
                "cublasSetWorkspace");

        // Warm up on the capture stream: handles and kernels initialise lazily, never during capture.
        for (int i = 0; i < 2; i++) {
            enqueueAll();
            ctx.synchronize("warm-up forward");
        }
        graph = new CUgraph_st();
        Cuda.check(cudaStreamBeginCapture(ctx.stream, cudaStreamCaptureModeThreadLocal), "begin graph capture");
        try {
            enqueueAll();
        } catch (RuntimeException e) {
            CUgraph_st broken = new CUgraph_st();
            cudaStreamEndCapture(ctx.stream, broken);
            if (!broken.isNull()) {
                cudaGraphDestroy(broken);
            }
            graph = null;
            throw e;
        }
        Cuda.check(cudaStreamEndCapture(ctx.stream, graph), "end graph capture");
        graphExec = new CUgraphExec_st();
        Cuda.check(cudaGraphInstantiate(graphExec, graph, 0L), "instantiate the forward graph");
        Cuda.check(cudaGraphLaunch(graphExec, ctx.stream), "first graph replay");
        ctx.synchronize("first graph replay");
        memGetInfoDelta = free0 - ctx.freeDeviceBytes();
    }

    private void trackPeak(long temporary) {
        peakOwnBytes = Math.max(peakOwnBytes, ownDeviceBytes() + temporary);
    }

    /** Everything one forward does on the stream, from pinned input to pinned outputs. */
    private void enqueueAll() {
        Cuda.check(cudaMemcpyAsync(Cuda.at(deviceInput), Cuda.at(pinnedIn.address()), inputBytes,
                cudaMemcpyHostToDevice, ctx.stream), "upload input");
        for (CudaGraph g : graphs) {
            g.enqueue(ctx);
        }
        Cuda.check(cudaMemcpyAsync(Cuda.at(pinnedOut.address()), Cuda.at(deviceOutputs), outputBytes,
                cudaMemcpyDeviceToHost, ctx.stream), "download outputs");
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("plan closed");
        }
    }

    @Override
    public int cases() {
        return cases;
    }

    /**
     * Runs the model by replaying the captured graph: no device allocation, no algorithm search.
     *
     * @param input // (cases, phases, D, H, W) float32, host
     * @param probabilities // (cases, tasks) float32, host, config task order
     */
    @Override
    public void forward(MemorySegment input, MemorySegment probabilities) {
        checkOpen();
        ctx.use();
        MemorySegment.copy(input, 0, pinnedIn.segment(), 0, inputBytes);
        Cuda.check(cudaGraphLaunch(graphExec, ctx.stream), "graph replay");
        ctx.synchronize("forward");
        scatter(probabilities);
    }

    /**
     * The same forward issued op by op instead of replayed (the graph's oracle in tests).
     *
     * @param input // (cases, phases, D, H, W)
     * @param probabilities // (cases, tasks)
     */
    void forwardEager(MemorySegment input, MemorySegment probabilities) {
        checkOpen();
        ctx.use();
        MemorySegment.copy(input, 0, pinnedIn.segment(), 0, inputBytes);
        enqueueAll();
        ctx.synchronize("eager forward");
        scatter(probabilities);
    }

    /** Copies each network's probabilities from the pinned outputs into the model's task columns, and its features. */
    private void scatter(MemorySegment probabilities) {
        MemorySegment outs = pinnedOut.segment();
        int tasks = config.tasks().size();
        for (int i = 0; i < graphs.size(); i++) {
            int[] cols = taskColumns[i];
            for (int c = 0; c < cases; c++) {
                for (int t = 0; t < cols.length; t++) {
                    float p = outs.get(JAVA_FLOAT, probabilityOffset[i] + ((long) c * cols.length + t) * Float.BYTES);
                    probabilities.setAtIndex(JAVA_FLOAT, (long) c * tasks + cols[t], p);
                }
            }
            MemorySegment.copy(outs, featureOffset[i], hostFeatures[i], 0, featureBytes[i]);
        }
    }

    /**
     * Re-runs each network on {@code input} with a check after every node.
     *
     * @return "network 'x', node y" for the first node whose output is not finite, or null
     */
    @Override
    public String firstNonFiniteLayer(MemorySegment input) {
        checkOpen();
        ctx.use();
        MemorySegment.copy(input, 0, pinnedIn.segment(), 0, inputBytes);
        Cuda.check(cudaMemcpy(Cuda.at(deviceInput), Cuda.at(pinnedIn.address()), inputBytes, cudaMemcpyHostToDevice),
                "upload input");
        for (int i = 0; i < graphs.size(); i++) {
            String node = graphs.get(i).firstNonFinite(ctx);
            if (node != null) {
                return "network '" + config.networks().get(i).name() + "', node " + node;
            }
        }
        return null;
    }

    /**
     * Times graph replays with CUDA events on the plan's stream, on whatever input the last
     * forward left in the pinned staging buffer. Each replay includes the upload of the input and
     * the download of the probabilities (what a request costs), not the host-side copies.
     *
     * @param warmups replays before timing
     * @param iterations timed replays
     * @return milliseconds per timed replay
     */
    public float[] timeReplays(int warmups, int iterations) {
        checkOpen();
        ctx.use();
        float[] out = new float[iterations];
        CUevent_st start = new CUevent_st();
        CUevent_st stop = new CUevent_st();
        Cuda.check(cudaEventCreate(start), "create event");
        try {
            Cuda.check(cudaEventCreate(stop), "create event");
            try {
                for (int i = 0; i < warmups; i++) {
                    Cuda.check(cudaGraphLaunch(graphExec, ctx.stream), "graph replay");
                }
                Cuda.check(cudaStreamSynchronize(ctx.stream), "warm-up replays");
                float[] ms = new float[1];
                for (int i = 0; i < iterations; i++) {
                    Cuda.check(cudaEventRecord(start, ctx.stream), "record event");
                    Cuda.check(cudaGraphLaunch(graphExec, ctx.stream), "graph replay");
                    Cuda.check(cudaEventRecord(stop, ctx.stream), "record event");
                    Cuda.check(cudaEventSynchronize(stop), "wait for event");
                    Cuda.check(cudaEventElapsedTime(ms, start, stop), "elapsed time");
                    out[i] = ms[0];
                }
            } finally {
                cudaEventDestroy(stop);
            }
        } finally {
            cudaEventDestroy(start);
        }
        return out;
    }

    /** @return fused features of network {@code i} from the last forward // (cases, fused) */
    @Override
    public MemorySegment features(int i) {
        checkOpen();
        return hostFeatures[i];
    }

    /** @return planned activation bytes (shared by all networks; the arena adds input and outputs) */
    @Override
    public long activationBytes() {
        return activationBytes;
    }

    /** @return the most activation bytes live at one step: no placement can use less */
    @Override
    public long activationLowerBound() {
        return lowerBound;
    }

    /** @return bytes of the weight allocation */
    @Override
    public long weightBytes() {
        return weights == null ? 0 : weights.bytes();
    }

    /** @return cuDNN workspace bytes (the largest chosen algorithm's) */
    @Override
    public long scratchBytes() {
        return convWorkspaceBytes;
    }

    /** @return bytes this plan holds in its own device allocations (weights, arena, workspace) */
    public long ownDeviceBytes() {
        return (weights == null ? 0 : weights.bytes()) + (arena == null ? 0 : arena.bytes())
                + (workspace == null ? 0 : workspace.bytes());
    }

    /** @return the high-water mark of {@link #ownDeviceBytes()}, including the algorithm-search workspace */
    public long peakOwnDeviceBytes() {
        return peakOwnBytes;
    }

    /**
     * @return device memory taken by creating this plan, by {@code cudaMemGetInfo} (free before the
     *     graphs minus free after the first replay): own allocations plus the loaded kernels' and the
     *     instantiated graph's; the CUDA context and the handles are excluded
     */
    public long memGetInfoDeltaBytes() {
        return memGetInfoDelta;
    }

    /** @return free bytes on this plan's device now ({@code cudaMemGetInfo}) */
    public long freeDeviceBytes() {
        checkOpen();
        ctx.use();
        return ctx.freeDeviceBytes();
    }

    /** @return {@code cudaMalloc} calls made by the CUDA backend so far in this process */
    public static long deviceMallocCount() {
        return DeviceBuffer.mallocCount();
    }

    /**
     * How one convolution layer of a plan runs, as chosen when the plan was built: what profiles and
     * benchmarks record per layer. Names, not cuDNN's numeric ids, so a caller needs no cuDNN types.
     *
     * @param layer the layer, network first: e.g. {@code mtdl/layer1.0.conv1}, or
     *     {@code renal/venous/conv1} for one backbone of a separate-fusion network
     * @param algorithm cuDNN's algorithm name without its {@code CUDNN_CONVOLUTION_*_ALGO_} prefix, e.g.
     *     {@code IMPLICIT_PRECOMP_GEMM}; a transposed convolution's backward-data algorithms read
     *     {@code BWD_DATA_0}, {@code BWD_DATA_1}, ...
     * @param mathType the cuDNN math type it runs with, without the {@code CUDNN_} prefix, e.g.
     *     {@code FMA_MATH} or {@code TENSOR_OP_MATH_ALLOW_CONVERSION}
     * @param fused true when one {@code cudnnConvolutionBiasActivationForward} call applies the bias,
     *     residual and activation; false when the plain convolution is followed by the backend's own
     *     bias-and-activation kernel
     * @param workspaceBytes workspace bytes the algorithm needs (the plan's workspace is the largest)
     */
    public record Convolution(String layer, String algorithm, String mathType, boolean fused, long workspaceBytes) {
        /**
         * Checks the fields.
         *
         * @throws NullPointerException if a name is null
         * @throws IllegalArgumentException if {@code workspaceBytes} is negative
         */
        public Convolution {
            Objects.requireNonNull(layer, "layer");
            Objects.requireNonNull(algorithm, "algorithm");
            Objects.requireNonNull(mathType, "mathType");
            if (workspaceBytes < 0) {
                throw new IllegalArgumentException("workspaceBytes " + workspaceBytes + " < 0");
            }
        }

        /**
         * @param c a plan-time choice
         * @return it as the public record
         */
        static Convolution of(ConvChoice c) {
            return new Convolution(c.layer(), c.candidate().algoName(), ConvMath.mathName(c.candidate().mathType()),
                    c.mode() == ConvChoice.Mode.FUSED, c.candidate().memory());
        }

        /** @return e.g. {@code mtdl/conv1=IMPLICIT_PRECOMP_GEMM/FMA_MATH}, {@code +affine_act} when not fused */
        @Override
        public String toString() {
            return layer + "=" + algorithm + "/" + mathType + (fused ? "" : "+affine_act");
        }
    }

    /**
     * Says how the algorithm choice at plan time left each convolution, for profiles and benchmarks.
     *
     * @return how each convolution of every network runs (layer, algorithm, math type, fused or not,
     *     workspace), in plan order: every network's convolutions in graph order, networks in config
     *     order; unmodifiable
     */
    public List<Convolution> convolutions() {
        List<Convolution> out = new ArrayList<>();
        for (CudaGraph g : graphs) {
            for (ConvChoice c : g.convolutions()) {
                out.add(Convolution.of(c));
            }
        }
        return List.copyOf(out);
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (ctx != null) {
            cudaSetDevice(device);
            cudaStreamSynchronize(ctx.stream);
        }
        if (graphExec != null) {
            cudaGraphExecDestroy(graphExec);
        }
        if (graph != null) {
            cudaGraphDestroy(graph);
        }
        for (CudaGraph g : graphs) {
            g.close();
        }
        for (AutoCloseable c : new AutoCloseable[] {workspace, arena, weights, pinnedIn, pinnedOut}) {
            if (c instanceof DeviceBuffer b) {
                b.close();
            } else if (c instanceof PinnedBuffer p) {
                p.close();
            }
        }
        if (ctx != null) {
            ctx.close();
        }
        hostArena.close();
    }
}
