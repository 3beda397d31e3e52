package org.renalmtl.engine.cpu;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import java.lang.foreign.MemorySegment;

/**
 * Locates the first layer whose output holds a NaN or an infinity, for the error that a non-finite
 * network output becomes. Used only on that error path: {@link CpuPlan#firstNonFiniteLayer} re-runs the
 * forward with a probe after every layer; the normal forward passes none and pays nothing.
 */
final class NonFiniteProbe {
    /** Thrown through the forward to stop it at the first non-finite layer. */
    static final class Found extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Found(String layer) {
            super(layer, null, false, false);
        }
    }

    private final String where;

    /** @param where what runs (network, phase), prefixed to the layer's name */
    NonFiniteProbe(String where) {
        this.where = where;
    }

    /**
     * @param layer the layer that just wrote {@code out}
     * @param out its output, all of whose floats it wrote (padding included, which oneDNN zeroes)
     * @throws Found if {@code out} holds a non-finite value
     */
    void after(String layer, MemorySegment out) {
        for (long i = 0; i < out.byteSize() / Float.BYTES; i++) {
            if (!Float.isFinite(out.getAtIndex(JAVA_FLOAT, i))) {
                throw new Found(where + layer);
            }
        }
    }
}
