package org.renalmtl.engine;

import java.lang.foreign.MemorySegment;

/**
 * A graph of the engine's IR ({@code engine.graph}) compiled for one device at one input shape: weights
 * resident in the backend's layout, every value placed in one arena, kernels bound once
 * ({@link Graphs#compile}). {@link #run} moves host inputs in, runs every node and moves host outputs
 * out; after compilation it allocates nothing. Any network built as a graph runs this way: nnU-Net's
 * U-Net tile by tile, or a user's own.
 *
 * <p>Not thread-safe: one caller at a time (the arena is shared by every run). Close it to free the
 * native and device memory; a run after {@link #close} throws {@link IllegalStateException}.
 */
public interface CompiledGraph extends AutoCloseable {
    /**
     * Runs the graph.
     *
     * @param inputs one per graph input, in declaration order: dense row-major float32 of its shape,
     *     host memory
     * @param outputs one per graph output, in declaration order: host memory receiving dense row-major
     *     float32 of its shape
     */
    void run(MemorySegment[] inputs, MemorySegment[] outputs);

    /** @return bytes of the arena every intermediate value lives in */
    long arenaBytes();

    /** @return bytes of the weights as the backend holds them */
    long weightBytes();

    /** Frees the compiled graph's memory; idempotent. */
    @Override
    void close();
}
