package org.renalmtl.bench;

import java.lang.foreign.MemorySegment;

/**
 * One way of running the whole model forward on the CPU: renal-mtl's engine or one of the peers it
 * is compared with. All take the same off-heap input and write the same probabilities, so the
 * benchmark times exactly the work {@code Model.forward} does.
 */
public sealed interface ForwardBackend extends AutoCloseable
        permits RenalMtlForward, LibtorchForward, OnnxRuntimeForward {

    /** @return the short name used in the JMH benchmark and the ratio table */
    String name();

    /** @return what runs, with its version and thread settings, for the log */
    String describe();

    /**
     * Runs the model once.
     *
     * @param input float32 {@code (B, P, D, H, W)} in C order, B = {@code cases}
     * @param cases B
     * @param probabilities float32 {@code (B, T)}, overwritten
     */
    void forward(MemorySegment input, int cases, MemorySegment probabilities);

    /** Releases native memory and threads; no exception beyond unchecked ones. */
    @Override
    void close();
}
