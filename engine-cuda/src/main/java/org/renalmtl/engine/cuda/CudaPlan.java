package org.renalmtl.engine.cuda;

import static org.bytedeco.cuda.global.cublas.CUBLAS_DEFAULT_MATH;
import static org.bytedeco.cuda.global.cublas.CUBLAS_TF32_TENSOR_OP_MATH;
import static org.bytedeco.cuda.global.cublas.cublasCreate_v2;
import static org.bytedeco.cuda.global.cublas.cublasDestroy_v2;
import static org.bytedeco.cuda.global.cublas.cublasSetMathMode;
import static org.bytedeco.cuda.global.cublas.cublasSetStream_v2;
import static org.bytedeco.cuda.global.cublas.cublasSetWorkspace_v2;
import static org.bytedeco.cuda.global.cudart.*;
import static org.bytedeco.cuda.global.cudnn.cudnnCreate;
import static org.bytedeco.cuda.global.cudnn.cudnnDestroy;
import static org.bytedeco.cuda.global.cudnn.cudnnSetStream;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.bytedeco.cuda.cublas.cublasContext;
import org.bytedeco.cuda.cudart.CUevent_st;
import org.bytedeco.cuda.cudart.CUgraphExec_st;
import org.bytedeco.cuda.cudart.CUgraph_st;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.cuda.cudnn.cudnnContext;
import org.bytedeco.javacpp.SizeTPointer;
import org.renalmtl.engine.Precision;
import org.renalmtl.engine.plan.ArenaPlanner;
import org.renalmtl.engine.plan.ExecutionPlan;
import org.renalmtl.engine.plan.MemoryBudget;
import org.renalmtl.weights.ModelConfig;
import org.renalmtl.weights.Tensor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Everything a model needs to run one shape on one GPU, the CUDA twin of {@code cpu.CpuPlan}:
 * its networks, ONE weight allocation, ONE activation arena placed by {@link ArenaPlanner} with the
 * CPU plan's liveness (plus the input, logits and fused features after it), one workspace
 * (cuDNN's largest chosen algorithm and cuBLAS's), pinned host staging for input and output, and
 * the whole forward captured once as a CUDA graph. Created once per (cases, D, H, W); after
 * creation {@link #forward} calls no {@code cudaMalloc} and no cuDNN search: it copies the input
 * into pinned memory, replays the graph (upload, layout, convolutions, pools, head, sigmoid,
 * download) and copies the probabilities out.
 *
 * <p>Creation order: the precision's cuDNN math types ({@code ConvMath.decide}: refused, or
 * narrowed by a known cuDNN bug, with a logged warning); handles and stream; networks (graphs,
 * folded weights); arena plan; allocations; binding (descriptors, each read back); algorithm choice
 * per convolution on a temporary workspace (one search per distinct layer, {@code FindExCache},
 * then a trial of the fused call); the exact workspace; two eager warm-up forwards on the capture
 * stream (cuDNN and cuBLAS create things lazily); capture; instantiate; one replay.
 * {@link #memGetInfoDeltaBytes()} is the device memory that all of this took, measured with
 * {@code cudaMemGetInfo} (the CUDA context excluded).
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
    private final Precision precision;
    private final ConvMath.Use math;
    private final long inputBytes; // (cases, phases, D, H, W) float32
    private final long probBytes; // (cases, tasks) float32
    private final List<CudaNetwork> networks = new ArrayList<>();
    private final Arena hostArena = Arena.ofShared();
    private final MemorySegment[] hostFeatures; // per network // (cases, fused), filled on demand
    private final long[] featureAddress; // per network: device address // (cases, fused)
    private CUstream_st stream;
    private cudnnContext dnn;
    private cublasContext blas;
    private Kernels kernels;
    private DeviceBuffer weights;
    private DeviceBuffer arena;
    private DeviceBuffer workspace;
    private PinnedBuffer pinnedIn; // (cases, phases, D, H, W)
    private PinnedBuffer pinnedOut; // (cases, tasks)
    private CUgraph_st graph;
    private CUgraphExec_st graphExec;
    private Kernels.Launch finalBias;
    private Kernels.Launch sigmoid;
    private long deviceInput; // (cases, phases, D, H, W)
    private long deviceLogits; // (cases, tasks): logits, then probabilities in place
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
     * @param tensors weights by name
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
        // Without a GPU the version is 0 and only the build's own refusal (bf16) applies, before require's reason.
        this.math = switch (ConvMath.decide(precision, CudaRuntime.cudnnVersion())) {
            case ConvMath.Refuse r -> throw new UnsupportedOperationException(r.reason());
            case ConvMath.Use u -> u;
        };
        CudaRuntime.require(deviceIndex);
        if (math.guard() != null) {
            LOG.warn("precision {}: {}", precision.label(), math.guard());
        }
        this.config = config;
        this.cases = cases;
        this.size = size.clone();
        this.device = deviceIndex;
        this.precision = precision;
        int phases = config.phases().size();
        int tasks = config.tasks().size();
        this.inputBytes = (long) cases * phases * size[0] * size[1] * size[2] * Float.BYTES;
        this.probBytes = (long) cases * tasks * Float.BYTES;
        this.hostFeatures = new MemorySegment[config.networks().size()];
        this.featureAddress = new long[config.networks().size()];
        try {
            build(tensors, phases, tasks);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    private void build(Map<String, Tensor> tensors, int phases, int tasks) {
        Cuda.check(cudaSetDevice(device), "cudaSetDevice(" + device + ")");
        Cuda.check(cudaFree(null), "create the CUDA context"); // the context is not ours to count
        long free0 = freeDeviceBytes();
        CUstream_st s = new CUstream_st();
        Cuda.check(cudaStreamCreateWithFlags(s, cudaStreamNonBlocking), "create stream");
        stream = s;
        cudnnContext d = new cudnnContext();
        Cuda.checkDnn(cudnnCreate(d), "cudnnCreate");
        dnn = d;
        Cuda.checkDnn(cudnnSetStream(dnn, stream), "cudnnSetStream");
        cublasContext b = new cublasContext();
        Cuda.checkBlas(cublasCreate_v2(b), "cublasCreate");
        blas = b;
        Cuda.checkBlas(cublasSetStream_v2(blas, stream), "cublasSetStream");
        Cuda.checkBlas(cublasSetMathMode(blas, precision == Precision.FP32 ? CUBLAS_DEFAULT_MATH : CUBLAS_TF32_TENSOR_OP_MATH),
                "cublasSetMathMode");
        kernels = new Kernels(device);

        WeightBlock block = new WeightBlock();
        int[][] columns = new int[config.networks().size()][];
        float[] bias = new float[tasks]; // per model task: its tower's final bias, added after all GEMMs
        for (int i = 0; i < config.networks().size(); i++) {
            ModelConfig.Network net = config.networks().get(i);
            CudaNetwork n = new CudaNetwork(config, net, tensors, cases, size, math, block);
            networks.add(n);
            columns[i] = net.tasks().stream().mapToInt(config::taskIndex).toArray();
            float[] tb = n.towerBias();
            for (int t = 0; t < columns[i].length; t++) {
                bias[columns[i][t]] = tb[t];
            }
        }
        long biasOffset = block.add(bias);

        List<ArenaPlanner.Plan> plans = new ArrayList<>();
        long act = 0;
        long lower = 0;
        for (CudaNetwork n : networks) {
            ArenaPlanner.Plan p = ArenaPlanner.plan(n.requests());
            plans.add(p);
            act = Math.max(act, p.size());
            lower = Math.max(lower, p.lowerBound());
        }
        activationBytes = act;
        lowerBound = lower;
        // The arena: planned activations, then input, logits and every network's features (these
        // outlive their network's turn, so they are not planned).
        long io = act;
        long inputOffset = io;
        io += ArenaPlanner.align(inputBytes);
        long logitsOffset = io;
        io += ArenaPlanner.align(probBytes);
        long[] featureOffset = new long[networks.size()];
        for (int i = 0; i < networks.size(); i++) {
            featureOffset[i] = io;
            io += ArenaPlanner.align(networks.get(i).featureBytes());
        }
        // Checked before the first cudaMalloc, with the figures: an input size implying more than the device
        // holds is a bad input (exit 2), not a CUDA out-of-memory error half-way through the allocations.
        MemoryBudget.check("weights and activations for " + cases + " case(s) of " + size[0] + "×" + size[1] + "×"
                + size[2], block.bytes() + io, freeDeviceBytes(), "cuda:" + device + " (free)");
        weights = block.upload();
        arena = DeviceBuffer.allocate(io, "activation arena");
        trackPeak(0);
        pinnedIn = new PinnedBuffer(inputBytes, "input staging");
        pinnedOut = new PinnedBuffer(probBytes, "output staging");
        pinnedIn.segment().fill((byte) 0); // the warm-ups run on it: defined input, no NaN from stale bytes
        long base = arena.address();
        deviceInput = base + inputOffset;
        deviceLogits = base + logitsOffset;
        for (int i = 0; i < networks.size(); i++) {
            featureAddress[i] = base + featureOffset[i];
            hostFeatures[i] = hostArena.allocate(Math.max(networks.get(i).featureBytes(), 4), 64);
            networks.get(i).bind(base, plans.get(i).offsets(), deviceInput, featureAddress[i], deviceLogits, columns[i],
                    tasks, weights.address(), kernels);
        }
        int n = cases * tasks;
        finalBias = kernels.launch("bias_act", n).ptr(deviceLogits).ptr(weights.address() + biasOffset).i32(cases)
                .i32(tasks).i32(0);
        sigmoid = kernels.launch("sigmoid", n).ptr(deviceLogits).ptr(deviceLogits).i32(n);

        long searchBytes = Math.min(SEARCH_WORKSPACE_CAP, freeDeviceBytes() / 2);
        long most = 0;
        FindExCache found = new FindExCache();
        try (DeviceBuffer search = DeviceBuffer.allocate(searchBytes, "cuDNN algorithm search")) {
            trackPeak(search.bytes());
            for (CudaNetwork net : networks) {
                most = Math.max(most, net.chooseAlgorithms(dnn, stream, search.address(), search.bytes(), found));
            }
        }
        LOG.debug("cuDNN: {} algorithm searches for {} convolutions", found.searches(), convolutions().size());
        convWorkspaceBytes = most;
        long wsBlas = ArenaPlanner.align(most);
        workspace = DeviceBuffer.allocate(wsBlas + BLAS_WORKSPACE, "workspace");
        trackPeak(0);
        for (CudaNetwork net : networks) {
            net.setWorkspace(workspace.address(), most);
        }
        Cuda.checkBlas(cublasSetWorkspace_v2(blas, Cuda.at(workspace.address() + wsBlas), BLAS_WORKSPACE),
                "cublasSetWorkspace");

        // Warm up on the capture stream: handles and kernels initialise lazily, never during capture.
        for (int i = 0; i < 2; i++) {
            enqueueAll();
            Cuda.check(cudaStreamSynchronize(stream), "warm-up forward");
        }
        graph = new CUgraph_st();
        Cuda.check(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal), "begin graph capture");
        try {
            enqueueAll();
        } catch (RuntimeException e) {
            CUgraph_st broken = new CUgraph_st();
            cudaStreamEndCapture(stream, broken);
            if (!broken.isNull()) {
                cudaGraphDestroy(broken);
            }
            graph = null;
            throw e;
        }
        Cuda.check(cudaStreamEndCapture(stream, graph), "end graph capture");
        graphExec = new CUgraphExec_st();
        Cuda.check(cudaGraphInstantiate(graphExec, graph, 0L), "instantiate the forward graph");
        Cuda.check(cudaGraphLaunch(graphExec, stream), "first graph replay");
        Cuda.check(cudaStreamSynchronize(stream), "first graph replay");
        memGetInfoDelta = free0 - freeDeviceBytes();
    }

    private void trackPeak(long temporary) {
        peakOwnBytes = Math.max(peakOwnBytes, ownDeviceBytes() + temporary);
    }

    /** Everything one forward does on the stream, from pinned input to pinned probabilities. */
    private void enqueueAll() {
        Cuda.check(cudaMemcpyAsync(Cuda.at(deviceInput), Cuda.at(pinnedIn.address()), inputBytes,
                cudaMemcpyHostToDevice, stream), "upload input");
        for (CudaNetwork n : networks) {
            n.enqueue(dnn, blas, stream);
        }
        finalBias.enqueue(stream);
        sigmoid.enqueue(stream);
        Cuda.check(cudaMemcpyAsync(Cuda.at(pinnedOut.address()), Cuda.at(deviceLogits), probBytes,
                cudaMemcpyDeviceToHost, stream), "download probabilities");
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("plan closed");
        }
    }

    /** @return cases per forward */
    @Override
    public int cases() {
        return cases;
    }

    /** @return (D, H, W) of one phase */
    public int[] size() {
        return size.clone();
    }

    /** @return the convolution/GEMM arithmetic */
    public Precision precision() {
        return precision;
    }

    /** @return the CUDA ordinal this plan runs on */
    public int deviceIndex() {
        return device;
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
        Cuda.check(cudaSetDevice(device), "cudaSetDevice");
        MemorySegment.copy(input, 0, pinnedIn.segment(), 0, inputBytes);
        Cuda.check(cudaGraphLaunch(graphExec, stream), "graph replay");
        Cuda.check(cudaStreamSynchronize(stream), "forward");
        MemorySegment.copy(pinnedOut.segment(), 0, probabilities, 0, probBytes);
    }

    /**
     * The same forward issued op by op instead of replayed (the graph's oracle in tests).
     *
     * @param input // (cases, phases, D, H, W)
     * @param probabilities // (cases, tasks)
     */
    void forwardEager(MemorySegment input, MemorySegment probabilities) {
        checkOpen();
        Cuda.check(cudaSetDevice(device), "cudaSetDevice");
        MemorySegment.copy(input, 0, pinnedIn.segment(), 0, inputBytes);
        enqueueAll();
        Cuda.check(cudaStreamSynchronize(stream), "eager forward");
        MemorySegment.copy(pinnedOut.segment(), 0, probabilities, 0, probBytes);
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
        Cuda.check(cudaSetDevice(device), "cudaSetDevice");
        float[] out = new float[iterations];
        CUevent_st start = new CUevent_st();
        CUevent_st stop = new CUevent_st();
        Cuda.check(cudaEventCreate(start), "create event");
        try {
            Cuda.check(cudaEventCreate(stop), "create event");
            try {
                for (int i = 0; i < warmups; i++) {
                    Cuda.check(cudaGraphLaunch(graphExec, stream), "graph replay");
                }
                Cuda.check(cudaStreamSynchronize(stream), "warm-up replays");
                float[] ms = new float[1];
                for (int i = 0; i < iterations; i++) {
                    Cuda.check(cudaEventRecord(start, stream), "record event");
                    Cuda.check(cudaGraphLaunch(graphExec, stream), "graph replay");
                    Cuda.check(cudaEventRecord(stop, stream), "record event");
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

    /** @return fused features of network {@code i} from the last forward, copied to host // (cases, fused) */
    @Override
    public MemorySegment features(int i) {
        checkOpen();
        Cuda.check(cudaSetDevice(device), "cudaSetDevice");
        MemorySegment host = hostFeatures[i];
        Cuda.check(cudaMemcpy(Cuda.at(host.address()), Cuda.at(featureAddress[i]), host.byteSize(),
                cudaMemcpyDeviceToHost), "download features");
        return host;
    }

    /** @return planned activation bytes (shared by all networks; the arena adds input, logits and features) */
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
     *     handles minus free after the first replay): own allocations plus cuDNN/cuBLAS handles,
     *     the loaded module and the instantiated graph; the CUDA context is excluded
     */
    public long memGetInfoDeltaBytes() {
        return memGetInfoDelta;
    }

    /** @return free bytes on this plan's device now ({@code cudaMemGetInfo}) */
    public long freeDeviceBytes() {
        try (SizeTPointer free = new SizeTPointer(1); SizeTPointer total = new SizeTPointer(1)) {
            Cuda.check(cudaMemGetInfo(free, total), "cudaMemGetInfo");
            return free.get();
        }
    }

    /** @return {@code cudaMalloc} calls made by the CUDA backend so far in this process */
    public static long deviceMallocCount() {
        return DeviceBuffer.mallocCount();
    }

    /** @return how each convolution of every network runs (algorithm, math type, fused or not), in plan order */
    List<ConvChoice> convolutions() {
        List<ConvChoice> out = new ArrayList<>();
        for (CudaNetwork n : networks) {
            out.addAll(n.convolutions());
        }
        return out;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        cudaSetDevice(device);
        if (stream != null) {
            cudaStreamSynchronize(stream);
        }
        if (graphExec != null) {
            cudaGraphExecDestroy(graphExec);
        }
        if (graph != null) {
            cudaGraphDestroy(graph);
        }
        for (CudaNetwork n : networks) {
            n.close();
        }
        if (kernels != null) {
            kernels.close();
        }
        if (blas != null) {
            cublasDestroy_v2(blas);
        }
        if (dnn != null) {
            cudnnDestroy(dnn);
        }
        for (AutoCloseable c : new AutoCloseable[] {workspace, arena, weights, pinnedIn, pinnedOut}) {
            if (c instanceof DeviceBuffer b) {
                b.close();
            } else if (c instanceof PinnedBuffer p) {
                p.close();
            }
        }
        if (stream != null) {
            cudaStreamDestroy(stream);
        }
        hostArena.close();
    }
}
