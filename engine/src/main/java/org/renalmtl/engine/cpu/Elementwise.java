package org.renalmtl.engine.cpu;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import java.lang.foreign.MemorySegment;
import org.renalmtl.engine.graph.Activation;

/**
 * Elementwise epilogues: CPU twins of {@code kernels/src/main/cuda/elementwise.cu} (same names, same
 * argument order). Activations are NDHWC, so a channel is a column of a (voxels, channels) row-major
 * matrix. Each result is computed in double and rounded to float once; the activation is
 * {@link Activation#apply}, the graph's own definition, selected by its code (the ordinal of
 * {@link Activation.Kind}: 0 none, 1 relu, 2 leaky_relu, 3 sigmoid, 4 tanh).
 */
public final class Elementwise {
    private Elementwise() {}

    /**
     * {@code out[r, c] = act(in[r, c] · (scale ? scale[c] : 1) + (shift ? shift[c] : 0))}: bias and
     * activation after a GEMM or a conv without fused epilogue, an unfolded BatchNorm (scale and shift
     * folded by the host), a standalone sigmoid. {@code out} may be {@code in} (in place).
     *
     * @param out // (rows, cols)
     * @param in // (rows, cols)
     * @param scale // (cols), or null / {@link MemorySegment#NULL} for none
     * @param shift // (cols), or null / {@link MemorySegment#NULL} for none
     * @param act activation code, {@link Activation.Kind} ordinal
     * @param slope leaky ReLU's negative slope (read only for act 2)
     * @throws IllegalArgumentException for an unknown activation code
     */
    public static void affineAct(MemorySegment out, MemorySegment in, MemorySegment scale, MemorySegment shift,
            long rows, int cols, int act, float slope) {
        Activation a = activation(act, slope);
        boolean hasScale = present(scale);
        boolean hasShift = present(shift);
        for (long r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                long at = r * cols + c;
                double v = in.getAtIndex(JAVA_FLOAT, at);
                if (hasScale) {
                    v *= scale.getAtIndex(JAVA_FLOAT, c);
                }
                if (hasShift) {
                    v += shift.getAtIndex(JAVA_FLOAT, c);
                }
                out.setAtIndex(JAVA_FLOAT, at, (float) a.apply(v));
            }
        }
    }

    /**
     * {@code out[i] = act(a[i] + b[i])}: the residual add. {@code out} may be {@code a} or {@code b}.
     *
     * @param out // (n)
     * @param a // (n)
     * @param b // (n)
     * @param act activation code, {@link Activation.Kind} ordinal
     * @param slope leaky ReLU's negative slope (read only for act 2)
     * @throws IllegalArgumentException for an unknown activation code
     */
    public static void addAct(MemorySegment out, MemorySegment a, MemorySegment b, long n, int act, float slope) {
        Activation f = activation(act, slope);
        for (long i = 0; i < n; i++) {
            double v = (double) a.getAtIndex(JAVA_FLOAT, i) + b.getAtIndex(JAVA_FLOAT, i);
            out.setAtIndex(JAVA_FLOAT, i, (float) f.apply(v));
        }
    }

    /**
     * The activation a kernel's {@code (act, slope)} pair means; the slope counts only for leaky ReLU,
     * as in the kernels' {@code rmtl_act}.
     *
     * @throws IllegalArgumentException for a code that is not an {@link Activation.Kind} ordinal
     */
    static Activation activation(int act, float slope) {
        Activation.Kind[] kinds = Activation.Kind.values();
        if (act < 0 || act >= kinds.length) {
            throw new IllegalArgumentException("activation code " + act + " (0.." + (kinds.length - 1) + ")");
        }
        Activation.Kind kind = kinds[act];
        return new Activation(kind, kind == Activation.Kind.LEAKY_RELU ? slope : 0f);
    }

    /** A pointer argument that the kernel would see as non-NULL. */
    static boolean present(MemorySegment s) {
        return s != null && s.address() != 0;
    }
}
