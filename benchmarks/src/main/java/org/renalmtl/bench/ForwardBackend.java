package org.renalmtl.bench;

import java.lang.foreign.MemorySegment;
import java.util.Optional;

/**
 * One way of running the whole model forward on the CPU: renal-mtl's engine, the engine of an
 * earlier commit, or one of the peers they are compared with. All take the same off-heap input and
 * write the same probabilities, so the benchmark times exactly the work {@code Model.forward} does.
 */
public sealed interface ForwardBackend extends AutoCloseable
        permits RenalMtlForward, RenalMtlBaselineForward, LibtorchForward, OnnxRuntimeForward {

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

    /**
     * The fused backbone features of the last forward, for the launcher's check of the input
     * handling against libtorch's backbone-only copy.
     *
     * @return float32 (B, P·F), or empty where the backend does not expose its features (the peers)
     */
    default Optional<float[]> lastFeatures() {
        return Optional.empty();
    }

    /** Releases native memory and threads; no exception beyond unchecked ones. */
    @Override
    void close();
}
