package org.renalmtl.segmentation;

import java.lang.foreign.MemorySegment;

/**
 * The network as the sliding window sees it: a batch of tiles in, a batch of logits out, dense row-major
 * float32 host memory. The pipeline never depends on the backend; the integrator wraps a compiled graph.
 */
@FunctionalInterface
public interface PatchNetwork {

    /**
     * Runs the network on {@code n} tiles. Both segments are allocated once by the pipeline and reused; the
     * implementation must write every logit of the first {@code n} tiles and keep no reference to them.
     *
     * @param tiles  (batch, C, pz, py, px) float32; the first {@code n} tiles are filled
     * @param n      tiles in this call, 1..batch
     * @param logits (batch, K, pz, py, px) float32 to fill for the first {@code n} tiles
     */
    void run(MemorySegment tiles, int n, MemorySegment logits);
}
