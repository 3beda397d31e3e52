package org.renalmtl.engine.cuda;

import static org.bytedeco.cuda.global.cudnn.CUDNN_DEFAULT_MATH;
import static org.bytedeco.cuda.global.cudnn.CUDNN_FMA_MATH;
import static org.bytedeco.cuda.global.cudnn.CUDNN_STATUS_SUCCESS;
import static org.bytedeco.cuda.global.cudnn.CUDNN_TENSOR_OP_MATH;
import static org.bytedeco.cuda.global.cudnn.CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.renalmtl.engine.Precision;

/**
 * Which cuDNN math types a {@link Precision} may run its convolutions with, on a given cuDNN
 * version: the requested math type, the math types a FindEx result may carry to be accepted, and
 * the known cuDNN 3-D convolution bugs that narrow them (ENGINEERING.md §5). Pure Java: the cuDNN
 * names used here are compile-time constants, inlined by javac, so nothing here loads a CUDA
 * library and it is decided (and tested) on any machine.
 */
final class ConvMath {
    /**
     * A cuDNN bug that gives wrong results for some math types, from version {@code from} up to,
     * not including, {@code fixed}.
     */
    private record Bug(long from, long fixed, Set<Integer> broken, String what) {
        boolean affects(long version) {
            return version >= from && version < fixed;
        }
    }

    /**
     * The known 3-D convolution bugs. The TF32 kernel's constraints are not published, so every math
     * type that lets cuDNN use tensor cores on float32 data is taken as affected (ALLOW_CONVERSION
     * permits TF32 too). The fp16 bug was reported for half and bf16 data; our FP16 rounds float32
     * inputs to half inside cuDNN's tensor-core kernels, so it is guarded the same way.
     */
    private static final List<Bug> BUGS = List.of(
            new Bug(91002, 91600,
                    Set.of(CUDNN_DEFAULT_MATH, CUDNN_TENSOR_OP_MATH, CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION),
                    "cuDNN 9.10.2–9.15 has a TF32 kernel for 3-D convolutions that gives wrong results "
                            + "(pytorch PR #167024)"),
            new Bug(90800, 91500, Set.of(CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION),
                    "cuDNN 9.8–9.14 gives wrong fp16/bf16 3-D convolutions (pytorch issue #163539)"));

    private ConvMath() {}

    /** What a plan may do at a precision. */
    sealed interface Decision permits Use, Refuse {}

    /**
     * Run the convolutions.
     *
     * @param precision what was asked for
     * @param mathType set on every convolution descriptor for the algorithm search
     * @param accepted math types a search result may carry to be used
     * @param guard why cuDNN bugs narrowed the math types on this version, or null when none did
     */
    record Use(Precision precision, int mathType, Set<Integer> accepted, String guard) implements Decision {
        /**
         * @param found FindEx results, fastest first
         * @param workspaceLimit bytes of workspace an algorithm may need
         * @return the results that ran, fit the workspace and carry an accepted math type, in order
         */
        List<ConvCandidate> usable(List<ConvCandidate> found, long workspaceLimit) {
            return found.stream().filter(c -> c.status() == CUDNN_STATUS_SUCCESS && c.memory() <= workspaceLimit
                    && accepted.contains(c.mathType())).toList();
        }

        /**
         * @param found a search's results, fastest first
         * @param workspaceLimit bytes of workspace an algorithm may need
         * @param layer the layer searched, for the message
         * @return {@link #usable} results, never empty
         * @throws CudaException naming the layer, the precision and what the search found, when none is usable
         */
        List<ConvCandidate> require(List<ConvCandidate> found, long workspaceLimit, String layer) {
            List<ConvCandidate> usable = usable(found, workspaceLimit);
            if (usable.isEmpty()) {
                throw new CudaException("cuDNN: no algorithm for " + layer + " within " + workspaceLimit
                        + " bytes of workspace at precision " + precision.label() + " (accepted math types "
                        + accepted.stream().map(ConvMath::mathName).toList() + "); the search found " + found);
            }
            return usable;
        }
    }

    /** @param reason one line: why, and what would run it */
    record Refuse(String reason) implements Decision {}

    /**
     * @param p the precision asked for
     * @param cudnnVersion {@code cudnnGetVersion()}, e.g. 91900; 0 when unknown (no guard applies)
     * @return the math types to use, or why the precision is refused
     */
    static Decision decide(Precision p, long cudnnVersion) {
        if (p == Precision.BF16) {
            return new Refuse("precision bf16 is not available in this build: cuDNN has no bf16 mode for float32 "
                    + "tensors and the kernels module has no float/bf16 conversion kernels");
        }
        Set<Integer> accepted = new TreeSet<>(switch (p) {
            // FMA only: DEFAULT_MATH lets cuDNN pick TF32 tensor-core kernels for float32 data.
            case FP32 -> Set.of(CUDNN_FMA_MATH);
            case TF32 -> Set.of(CUDNN_FMA_MATH, CUDNN_DEFAULT_MATH, CUDNN_TENSOR_OP_MATH);
            case FP16, BF16 -> Set.of(CUDNN_FMA_MATH, CUDNN_DEFAULT_MATH, CUDNN_TENSOR_OP_MATH,
                    CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION);
        });
        int requested = switch (p) {
            case FP32 -> CUDNN_FMA_MATH;
            case TF32 -> CUDNN_DEFAULT_MATH;
            case FP16, BF16 -> CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;
        };
        List<String> why = new ArrayList<>();
        long fixed = 0;
        for (Bug b : BUGS) {
            if (b.affects(cudnnVersion) && accepted.removeAll(b.broken())) {
                why.add(b.what());
                fixed = Math.max(fixed, b.fixed());
            }
        }
        String bugs = String.join("; ", why);
        if (accepted.contains(requested)) {
            return new Use(p, requested, Set.copyOf(accepted), why.isEmpty() ? null : "cuDNN "
                    + versionName(cudnnVersion) + ": " + bugs + "; convolutions accept only " + names(accepted));
        }
        if (p == Precision.FP16) {
            // Forcing FMA would run an "fp16" plan with no half-precision products in it.
            return new Refuse("precision fp16 is refused on cuDNN " + versionName(cudnnVersion) + ": " + bugs
                    + "; cuDNN " + versionName(fixed) + " or later runs it, or use fp32");
        }
        // TF32 is a permission, not a promise: strict fp32 products are a correct way to honour it (PyTorch's fix).
        return new Use(p, CUDNN_FMA_MATH, Set.copyOf(accepted), "cuDNN " + versionName(cudnnVersion) + ": " + bugs
                + "; convolutions run with CUDNN_FMA_MATH (strict fp32) instead of TF32");
    }

    /** @return e.g. {@code 9.10.2} for {@code cudnnGetVersion()} 91002 */
    static String versionName(long v) {
        return v / 10000 + "." + v % 10000 / 100 + "." + v % 100;
    }

    /** @return cuDNN's name of a math type without the {@code CUDNN_} prefix, e.g. {@code FMA_MATH} */
    static String mathName(int mathType) {
        return switch (mathType) {
            case CUDNN_DEFAULT_MATH -> "DEFAULT_MATH";
            case CUDNN_TENSOR_OP_MATH -> "TENSOR_OP_MATH";
            case CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION -> "TENSOR_OP_MATH_ALLOW_CONVERSION";
            case CUDNN_FMA_MATH -> "FMA_MATH";
            default -> "math type " + mathType;
        };
    }

    private static String names(Set<Integer> mathTypes) {
        return String.join(", ", mathTypes.stream().map(ConvMath::mathName).toList());
    }

    /**
     * @return what the precision's arithmetic is, in words: storage is float32 in every mode, so FP16
     *     means half-precision products inside cuDNN's convolutions, not a half-precision model
     */
    static String arithmetic(Precision p) {
        return switch (p) {
            case FP32 -> "fp32: float32 storage, products and sums (CUDNN_FMA_MATH, no TF32)";
            case TF32 -> "tf32: float32 storage and sums, TF32 tensor-core products (10-bit mantissa)";
            case FP16 -> "fp16 products on float32 storage: cuDNN rounds convolution inputs to half inside its "
                    + "kernels (CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION), sums and activations stay float32; "
                    + "not an fp16 model";
            case BF16 -> "bf16: not available in this build";
        };
    }
}
