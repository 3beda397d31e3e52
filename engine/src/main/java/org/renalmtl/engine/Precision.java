package org.renalmtl.engine;

import java.util.Locale;

/**
 * Arithmetic of the GPU convolutions and GEMMs, a load option ({@link Model#load(java.nio.file.Path, Device,
 * Precision)}; ignored on the CPU). Activations and weights are stored as float32 in
 * every mode (our kernels are float32, kernels/KERNELS.md); the modes differ in what the tensor
 * cores may do with them.
 */
public enum Precision {
    /** Strict IEEE float32: cuDNN {@code CUDNN_FMA_MATH}, cuBLAS default math (no TF32). */
    FP32,
    /** TF32 tensor cores for convolutions and GEMMs (10-bit mantissa products, fp32 sums); PyTorch's default for convolutions. */
    TF32,
    /**
     * FP16 tensor-core products on float32 storage: cuDNN {@code CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION}
     * (inputs are rounded to half inside the convolution, sums in fp32). Not half-precision storage:
     * that needs float/half conversion kernels, which the kernels module does not have yet.
     */
    FP16,
    /**
     * bfloat16. Not available in this build: cuDNN has no bf16 down-conversion mode for float32
     * tensors, and bf16 storage needs conversion kernels the kernels module does not have yet.
     */
    BF16;

    /**
     * Parses {@code fp32}, {@code tf32}, {@code fp16} or {@code bf16} (any case).
     *
     * @param s the name
     * @return the precision
     * @throws IllegalArgumentException for anything else
     */
    public static Precision parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown precision '" + s + "' (use fp32, tf32, fp16 or bf16)", e);
        }
    }

    /** @return the lower-case name used on the command line and in JSON */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
