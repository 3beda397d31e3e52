package org.renalmtl.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;

/**
 * The benchmark's input: B cases of P phases, off-heap float32 {@code (B, P, D, H, W)} in C order,
 * filled with standard normal values from a seeded generator. Standard normal is what a z-scored CT
 * volume looks like to the network in scale; the content does not change the work of a dense
 * forward, only the agreement check needs it to be the same for every backend.
 */
public final class SeededInput implements AutoCloseable {
    private final Arena arena;
    private final MemorySegment values; // (B, P, D, H, W) float32, 64-byte aligned

    /**
     * @param elements B·P·D·H·W
     * @param seed generator seed
     */
    public SeededInput(long elements, long seed) {
        arena = Arena.ofShared();
        values = arena.allocate(ValueLayout.JAVA_FLOAT.byteSize() * elements, 64);
        SplittableRandom random = new SplittableRandom(seed);
        for (long i = 0; i < elements; i++) {
            values.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) random.nextGaussian());
        }
    }

    /** @return the input, float32 (B, P, D, H, W) */
    public MemorySegment values() {
        return values;
    }

    @Override
    public void close() {
        arena.close();
    }
}
