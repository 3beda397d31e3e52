package org.renalmtl.engine.cpu;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import java.lang.foreign.MemorySegment;
import org.renalmtl.engine.graph.Activation;

/**
 * Normalisation over NDHWC activations: CPU twin of {@code kernels/src/main/cuda/norm.cu} (same name,
 * same argument order).
 */
public final class Norm {
    private Norm() {}

    /**
     * PyTorch's {@code InstanceNorm3d}: per (sample, channel), the mean and the biased variance over
     * the spatial positions (two passes in double: the mean, then the mean squared deviation), then
     * {@code y = act((x − mean) / sqrt(var + eps) · (scale ? scale[c] : 1) + (shift ? shift[c] : 0))},
     * each output rounded to float once.
     *
     * @param out // (n, spatial, c), not overlapping in
     * @param in // (n, spatial, c)
     * @param scale // (c), or null / {@link MemorySegment#NULL} for none
     * @param shift // (c), or null / {@link MemorySegment#NULL} for none
     * @param act activation code, {@link Activation.Kind} ordinal
     * @param slope leaky ReLU's negative slope (read only for act 2)
     * @throws IllegalArgumentException for an unknown activation code
     */
    public static void instanceNormNdhwc(MemorySegment out, MemorySegment in, MemorySegment scale, MemorySegment shift,
            int n, int spatial, int c, float eps, int act, float slope) {
        Activation a = Elementwise.activation(act, slope);
        boolean hasScale = Elementwise.present(scale);
        boolean hasShift = Elementwise.present(shift);
        for (int i = 0; i < n; i++) {
            long base = (long) i * spatial * c;
            for (int ch = 0; ch < c; ch++) {
                double sum = 0;
                for (int s = 0; s < spatial; s++) {
                    sum += in.getAtIndex(JAVA_FLOAT, base + (long) s * c + ch);
                }
                double mean = sum / spatial;
                double squares = 0;
                for (int s = 0; s < spatial; s++) {
                    double d = in.getAtIndex(JAVA_FLOAT, base + (long) s * c + ch) - mean;
                    squares += d * d;
                }
                double std = Math.sqrt(squares / spatial + eps);
                double gamma = hasScale ? scale.getAtIndex(JAVA_FLOAT, ch) : 1;
                double beta = hasShift ? shift.getAtIndex(JAVA_FLOAT, ch) : 0;
                for (int s = 0; s < spatial; s++) {
                    long at = base + (long) s * c + ch;
                    out.setAtIndex(JAVA_FLOAT, at, (float) a.apply((in.getAtIndex(JAVA_FLOAT, at) - mean) / std * gamma + beta));
                }
            }
        }
    }
}
