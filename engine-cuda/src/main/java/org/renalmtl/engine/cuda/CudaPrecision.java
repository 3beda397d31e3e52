package org.renalmtl.engine.cuda;

import java.util.Optional;
import org.renalmtl.engine.Precision;

/**
 * What a {@link Precision} means on the CUDA backend, in words, for reports and benchmarks: its
 * arithmetic, whether this process's cuDNN refuses it (and why), and the version guard that narrows
 * it when a known cuDNN bug applies. The same decision {@link CudaPlan} makes when it is built, so a
 * caller can record a refused precision without building a plan, and say what a built one computed.
 *
 * <p>{@link #refusal(Precision)} and {@link #guard(Precision)} read the cuDNN version from
 * {@link CudaRuntime#cudnnVersion()}, which probes the GPU once (safe without a driver: the version
 * is then 0, no version guard applies, and only the precisions this build lacks are refused).
 * {@link #arithmetic(Precision)} touches no CUDA library.
 */
public final class CudaPrecision {
    private CudaPrecision() {}

    /**
     * Says what a precision computes with on this backend. Touches no CUDA library.
     *
     * @param precision a precision
     * @return what its arithmetic is, in one line: storage is float32 in every mode, so {@code fp16}
     *     means half-precision products inside cuDNN's convolutions on float32 storage, not a
     *     half-precision model
     */
    public static String arithmetic(Precision precision) {
        return ConvMath.arithmetic(precision);
    }

    /**
     * Says whether, and why, a {@link CudaPlan} at this precision is refused here, without building
     * one: the plan's constructor throws {@code UnsupportedOperationException} with this reason.
     *
     * @param precision a precision
     * @return why a plan at this precision is refused on this process's cuDNN (unavailable in this
     *     build, or a cuDNN version with a bug that breaks it; the reason says what would run it), or
     *     empty when a plan may run it
     */
    public static Optional<String> refusal(Precision precision) {
        return refusal(precision, CudaRuntime.cudnnVersion());
    }

    /**
     * Says how a known cuDNN bug narrows this precision here (a plan logs it as a warning when built),
     * e.g. TF32 convolutions run with strict fp32 products on a cuDNN with a broken TF32 3-D kernel.
     *
     * @param precision a precision
     * @return why a known cuDNN bug narrows the math types this precision's convolutions may use on
     *     this process's cuDNN, and what they use instead, or empty when no guard applies or the
     *     precision is refused ({@link #refusal(Precision)})
     */
    public static Optional<String> guard(Precision precision) {
        return guard(precision, CudaRuntime.cudnnVersion());
    }

    /** As {@link #refusal(Precision)} for a given {@code cudnnGetVersion()}, e.g. 91900; 0 when unknown. */
    static Optional<String> refusal(Precision precision, long cudnnVersion) {
        return ConvMath.decide(precision, cudnnVersion) instanceof ConvMath.Refuse r
                ? Optional.of(r.reason()) : Optional.empty();
    }

    /** As {@link #guard(Precision)} for a given {@code cudnnGetVersion()}, e.g. 91900; 0 when unknown. */
    static Optional<String> guard(Precision precision, long cudnnVersion) {
        return ConvMath.decide(precision, cudnnVersion) instanceof ConvMath.Use u
                ? Optional.ofNullable(u.guard()) : Optional.empty();
    }
}
