package org.renalmtl.engine.cpu;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import java.lang.foreign.MemorySegment;

/**
 * Head ops (PLE experts, gates, towers) on the CPU. {@link #gateMix} is the CPU twin of
 * {@code gate_mix} in {@code kernels/src/main/cuda/head.cu} (same name, same argument order) and that
 * kernel's oracle; {@link #linear} is the twin of the cuBLAS GEMM of {@code CublasLinear}, which
 * {@code affine_act} ({@link Elementwise#affineAct}) follows for the bias and the activation. All
 * buffers are float32, row-major.
 */
public final class Head {
    private Head() {}

    /**
     * {@code out[r, o] = Σ_i in[r, i] · weight[o, i]} (no bias: {@link Elementwise#affineAct} follows, as on
     * the GPU).
     *
     * @param out // (rows, outF) with row stride {@code outRowStride}
     * @param in // (rows, inF)
     * @param weight // (outF, inF)
     */
    public static void linear(MemorySegment out, MemorySegment in, MemorySegment weight, int rows, int inF, int outF,
            int outRowStride) {
        for (int r = 0; r < rows; r++) {
            long xr = (long) r * inF;
            for (int o = 0; o < outF; o++) {
                long wr = (long) o * inF;
                // Double accumulation: the head is ~10^7 MACs per case, so exactness costs nothing
                // and keeps this twin a strict oracle for the GPU's fp32/TF32 GEMMs. Two partial
                // sums break the add dependency chain.
                double s0 = 0;
                double s1 = 0;
                int i = 0;
                for (; i + 1 < inF; i += 2) {
                    s0 += (double) in.getAtIndex(JAVA_FLOAT, xr + i) * weight.getAtIndex(JAVA_FLOAT, wr + i);
                    s1 += (double) in.getAtIndex(JAVA_FLOAT, xr + i + 1) * weight.getAtIndex(JAVA_FLOAT, wr + i + 1);
                }
                for (; i < inF; i++) {
                    s0 += (double) in.getAtIndex(JAVA_FLOAT, xr + i) * weight.getAtIndex(JAVA_FLOAT, wr + i);
                }
                out.setAtIndex(JAVA_FLOAT, (long) r * outRowStride + o, (float) (s0 + s1));
            }
        }
    }

    /**
     * The graph IR's gate mix: per case b, {@code g = softmax(logits[b, 0..e-1])} (max-subtracted, in
     * double) and {@code out[b, j] = Σ_i g[i] · experts[i][b, j]} summed in double, rounded once. A NaN
     * logit makes the case's outputs NaN.
     *
     * @param out // (batch, width)
     * @param logits // (batch, e)
     * @param experts e segments, each // (batch, width) (the kernel takes a device array of e pointers)
     * @throws IllegalArgumentException if {@code experts} does not hold e segments
     */
    public static void gateMix(MemorySegment out, MemorySegment logits, MemorySegment[] experts, int batch, int width,
            int e) {
        if (experts.length != e) {
            throw new IllegalArgumentException(experts.length + " expert segments for e = " + e);
        }
        double[] p = new double[e]; // (e) one case's softmax numerators
        for (int b = 0; b < batch; b++) {
            long lr = (long) b * e;
            double max = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < e; i++) {
                max = Math.max(max, logits.getAtIndex(JAVA_FLOAT, lr + i));
            }
            double sum = 0;
            for (int i = 0; i < e; i++) {
                p[i] = Math.exp(logits.getAtIndex(JAVA_FLOAT, lr + i) - max);
                sum += p[i];
            }
            long row = (long) b * width;
            for (int j = 0; j < width; j++) {
                double acc = 0;
                for (int i = 0; i < e; i++) {
                    acc += p[i] / sum * experts[i].getAtIndex(JAVA_FLOAT, row + j);
                }
                out.setAtIndex(JAVA_FLOAT, row + j, (float) acc);
            }
        }
    }
}
