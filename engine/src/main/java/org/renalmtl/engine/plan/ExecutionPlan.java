package org.renalmtl.engine.plan;

import java.lang.foreign.MemorySegment;

/**
 * The backend contract: a model bound to one device for one shape (cases, D, H, W), with its
 * weights, activation arena and workspace allocated once. {@link #forward} allocates nothing.
 * The CPU backend ({@code cpu.CpuPlan}) and the CUDA backend ({@code cuda.CudaPlan}) implement it;
 * {@code Model} only ever talks to this interface.
 */
public interface ExecutionPlan extends AutoCloseable {
    /** @return cases per forward */
    int cases();

    /**
     * Runs every network and writes probabilities.
     *
     * @param input host memory, float32 // (cases, phases, D, H, W)
     * @param probabilities host memory, float32 // (cases, tasks) in config task order
     */
    void forward(MemorySegment input, MemorySegment probabilities);

    /**
     * Locates the first layer whose output holds a NaN or an infinity, for the message of a
     * non-finite result. Runs the forward again, checking after every layer; only for that error path.
     *
     * @param input the input of the forward that gave a non-finite result // (cases, phases, D, H, W)
     * @return where the first non-finite value appears (network, phase, layer), null if none does,
     *     or {@code "unknown (not located on this backend)"} where a backend cannot check per layer
     */
    default String firstNonFiniteLayer(MemorySegment input) {
        return "unknown (not located on this backend)";
    }

    /**
     * Checks the small vectors of the last forward (a head's experts, gates and towers) for NaN and
     * infinities, which a ReLU may have hidden from the probabilities. Cheap: called after every forward.
     *
     * @return where the first non-finite vector is (network, node), or null if all are finite or the
     *     backend does not check
     */
    default String nonFiniteVector() {
        return null;
    }

    /** @return fused features of network {@code i} from the last forward, host-readable // (cases, fused) */
    MemorySegment features(int i);

    /** @return planned activation bytes (shared by all networks of the model) */
    long activationBytes();

    /** @return the most bytes live at one step: no placement can use less */
    long activationLowerBound();

    /** @return bytes of weights as the backend holds them */
    long weightBytes();

    /** @return workspace (scratchpad) bytes */
    long scratchBytes();

    @Override
    void close();
}
