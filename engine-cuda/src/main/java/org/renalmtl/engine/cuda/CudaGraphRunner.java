package org.renalmtl.engine.cuda;

import static org.bytedeco.cuda.global.cudart.cudaMemcpy;
import static org.bytedeco.cuda.global.cudart.cudaMemcpyDeviceToHost;
import static org.bytedeco.cuda.global.cudart.cudaMemcpyHostToDevice;

import java.lang.foreign.MemorySegment;
import org.renalmtl.engine.CompiledGraph;
import org.renalmtl.engine.Precision;
import org.renalmtl.engine.graph.Graph;
import org.renalmtl.engine.plan.ArenaPlanner;

/**
 * One graph on one GPU with everything of its own: context, weights, arena, device inputs and outputs,
 * workspace; the twin of {@code CpuGraph.compile}, what {@code Graphs.compile} gives for a CUDA device.
 * For graphs run one at a time and for the per-op oracle; a model's networks share one of each in
 * {@link CudaPlan}. {@link #run} issues the graph op by op (no capture) and waits for it.
 */
final class CudaGraphRunner implements CompiledGraph {
    private static final long SEARCH_WORKSPACE_CAP = 256L << 20;

    private final CudaContext ctx;
    private final CudaGraph graph;
    private final DeviceBuffer weights;
    private final DeviceBuffer arena;
    private final DeviceBuffer io; // every graph input, then every graph output, dense row-major
    private final DeviceBuffer workspace;
    private final long[] inputs; // per graph input: device address in io
    private final long[] outputs; // per graph output: device address in io
    private final long[] inputBytes;
    private final long[] outputBytes;
    private final FindExCache searches = new FindExCache(); // this graph's algorithm searches
    private boolean closed;

    /**
     * Compiles {@code g} on device {@code device} at {@code precision}.
     *
     * @throws UnsupportedOperationException if the GPU or the precision is unusable (the probe's reason)
     */
    CudaGraphRunner(Graph g, int device, Precision precision) {
        ctx = new CudaContext(device, precision);
        CudaGraph cg = null;
        DeviceBuffer w = null;
        DeviceBuffer a = null;
        DeviceBuffer b = null;
        DeviceBuffer ws = null;
        try {
            cg = CudaGraph.prepare(g);
            WeightBlock block = new WeightBlock();
            cg.register(block);
            w = block.upload();
            a = DeviceBuffer.allocate(cg.arenaBytes(), "arena");
            inputBytes = g.inputs().values().stream().mapToLong(v -> g.value(v).bytes()).toArray();
            outputBytes = g.outputs().values().stream().mapToLong(v -> g.value(v).bytes()).toArray();
            inputs = new long[inputBytes.length];
            outputs = new long[outputBytes.length];
            long total = 0;
            for (long n : inputBytes) {
                total += ArenaPlanner.align(n);
            }
            for (long n : outputBytes) {
                total += ArenaPlanner.align(n);
            }
            b = DeviceBuffer.allocate(total, "inputs and outputs");
            long at = b.address();
            for (int k = 0; k < inputs.length; k++) {
                inputs[k] = at;
                at += ArenaPlanner.align(inputBytes[k]);
            }
            for (int k = 0; k < outputs.length; k++) {
                outputs[k] = at;
                at += ArenaPlanner.align(outputBytes[k]);
            }
            cg.bind(ctx, a.address(), w.address(), inputs, outputs);
            long most;
            try (DeviceBuffer search = DeviceBuffer.allocate(Math.min(SEARCH_WORKSPACE_CAP, ctx.freeDeviceBytes() / 2),
                    "algorithm search")) {
                most = cg.choose(ctx, search.address(), search.bytes(), searches);
            }
            ws = DeviceBuffer.allocate(most, "workspace");
            cg.setWorkspace(ws.address(), most);
        } catch (RuntimeException e) {
            for (AutoCloseable c : new AutoCloseable[] {cg, ws, b, a, w}) {
                closeQuietly(c);
            }
            ctx.close();
            throw e;
        }
        graph = cg;
        weights = w;
        arena = a;
        io = b;
        workspace = ws;
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (Exception e) {
            // Already failing: the first exception is the one to report.
        }
    }

    /** @return the compiled graph, for its schedule and convolution choices */
    CudaGraph graph() {
        return graph;
    }

    /** @return algorithm searches run for this graph: one per distinct convolution */
    int searches() {
        return searches.searches();
    }

    @Override
    public long arenaBytes() {
        return graph.arenaBytes();
    }

    @Override
    public long weightBytes() {
        return weights.bytes();
    }

    @Override
    public void run(MemorySegment[] in, MemorySegment[] out) {
        if (closed) {
            throw new IllegalStateException("compiled graph closed");
        }
        ctx.use();
        for (int k = 0; k < inputs.length; k++) {
            Cuda.check(cudaMemcpy(Cuda.at(inputs[k]), Cuda.at(in[k].address()), inputBytes[k], cudaMemcpyHostToDevice),
                    "upload input " + k);
        }
        graph.enqueue(ctx);
        ctx.synchronize("run the graph");
        for (int k = 0; k < outputs.length; k++) {
            Cuda.check(cudaMemcpy(Cuda.at(out[k].address()), Cuda.at(outputs[k]), outputBytes[k], cudaMemcpyDeviceToHost),
                    "download output " + k);
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        ctx.use();
        ctx.synchronize("close");
        graph.close();
        workspace.close();
        io.close();
        arena.close();
        weights.close();
        ctx.close();
    }
}
