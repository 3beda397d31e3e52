package org.renalmtl.engine.cuda;

import java.util.List;
import org.renalmtl.engine.graph.Activation;
import org.renalmtl.engine.graph.Graph;
import org.renalmtl.engine.graph.Node;

/**
 * One graph node bound to the GPU: the CUDA backend's unit of work, the twin of the CPU's
 * {@code CpuKernel}. Made in steps, as the plan needs: the constructor reads the node and the
 * shapes; {@link #register} puts the node's constants, in the layout its library wants, into the
 * plan's one weight block; {@link #bind} points it at placed memory once (descriptors set and read
 * back, launch arguments written); {@link #choose} (cuDNN nodes) picks algorithms outside any
 * capture; {@link #enqueue} issues it on the context's stream without allocating, so a CUDA graph
 * can capture it.
 *
 * <p>Every volume a kernel reads or writes is dense channels-last (NDHWC); {@code CudaGraph} sees to
 * it. A kernel owns its descriptors and host scalars and frees them on {@link #close}.
 */
abstract class CudaKernel implements AutoCloseable {
    protected final Graph graph;
    protected final Node node;

    CudaKernel(Graph graph, Node node) {
        this.graph = graph;
        this.node = node;
    }

    /** Adds this node's constants to the weight block; kernels without constants keep this default. */
    void register(WeightBlock weights) {
    }

    /**
     * Points the kernel at its memory; once per plan.
     *
     * @param ctx the context it will run on
     * @param in one tensor per node input
     * @param out the output
     * @param weights device address of the uploaded weight block
     */
    abstract void bind(CudaContext ctx, DeviceTensor[] in, DeviceTensor out, long weights);

    /**
     * Chooses how the node runs, on the bound memory (which it may overwrite); never inside a capture.
     *
     * @param scratch device address of a temporary workspace for searches and trials
     * @param scratchBytes its size
     * @param cache the plan's search results
     * @return workspace bytes the chosen way needs
     */
    long choose(CudaContext ctx, long scratch, long scratchBytes, FindExCache cache) {
        return 0;
    }

    /** Hands the kernel the plan's workspace (at least what {@link #choose} returned). */
    void setWorkspace(long address, long bytes) {
    }

    /** Issues the node on the context's stream; allocates nothing. */
    abstract void enqueue(CudaContext ctx);

    /** @return how this node's convolution runs (algorithm, math, fused or not), empty for other nodes */
    List<ConvChoice> choices() {
        return List.of();
    }

    @Override
    public void close() {
    }

    /** @return the {@code act} argument of our kernels: the activation's ordinal */
    static int code(Activation a) {
        return a.kind().ordinal();
    }

    /** @return {@code v} as an int argument, or an exception naming the node if it does not fit */
    int fit(long v) {
        if (v > Integer.MAX_VALUE || v < Integer.MIN_VALUE) {
            throw new IllegalArgumentException(node.name() + ": extent " + v + " exceeds the kernels' int arguments");
        }
        return (int) v;
    }
}
