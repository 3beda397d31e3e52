package org.renalmtl.engine.cuda;

import static org.bytedeco.cuda.global.cudnn.CUDNN_CONVOLUTION_BWD_DATA_ALGO_0;
import static org.bytedeco.cuda.global.cudnn.CUDNN_CONVOLUTION_BWD_DATA_ALGO_1;
import static org.bytedeco.cuda.global.cudnn.CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT;
import static org.bytedeco.cuda.global.cudnn.CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING;
import static org.bytedeco.cuda.global.cudnn.CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD;
import static org.bytedeco.cuda.global.cudnn.CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD_NONFUSED;
import static org.bytedeco.cuda.global.cudnn.CUDNN_CONVOLUTION_FWD_ALGO_DIRECT;
import static org.bytedeco.cuda.global.cudnn.CUDNN_CONVOLUTION_FWD_ALGO_FFT;
import static org.bytedeco.cuda.global.cudnn.CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING;
import static org.bytedeco.cuda.global.cudnn.CUDNN_CONVOLUTION_FWD_ALGO_GEMM;
import static org.bytedeco.cuda.global.cudnn.CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
import static org.bytedeco.cuda.global.cudnn.CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM;
import static org.bytedeco.cuda.global.cudnn.CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD;
import static org.bytedeco.cuda.global.cudnn.CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED;
import static org.bytedeco.cuda.global.cudnn.CUDNN_STATUS_SUCCESS;

/**
 * One result of {@code cudnnFindConvolutionForwardAlgorithmEx}, copied out of cuDNN's perf struct
 * so it can be cached and decided on without a GPU.
 *
 * @param algo the algorithm id ({@code perf.algo()}, not the returned count: the MNISTCUDNN sample's bug)
 * @param status whether it ran ({@code CUDNN_STATUS_SUCCESS}) in the search
 * @param mathType the math type it was timed with (set on the descriptor before it runs, as PyTorch does)
 * @param memory workspace bytes it needs
 * @param timeMs its time in the search
 * @param backwardData whether it is a {@code cudnnConvolutionBackwardData} algorithm (a transposed
 *     convolution's), whose ids name other algorithms
 */
record ConvCandidate(int algo, int status, int mathType, long memory, float timeMs, boolean backwardData) {
    /** A forward convolution's candidate. */
    ConvCandidate(int algo, int status, int mathType, long memory, float timeMs) {
        this(algo, status, mathType, memory, timeMs, false);
    }

    /** @return cuDNN's algorithm name without {@code CUDNN_CONVOLUTION_FWD_ALGO_}, e.g. {@code IMPLICIT_PRECOMP_GEMM} */
    String algoName() {
        if (backwardData) {
            return switch (algo) {
                case CUDNN_CONVOLUTION_BWD_DATA_ALGO_0 -> "BWD_DATA_0";
                case CUDNN_CONVOLUTION_BWD_DATA_ALGO_1 -> "BWD_DATA_1";
                case CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT -> "BWD_DATA_FFT";
                case CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING -> "BWD_DATA_FFT_TILING";
                case CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD -> "BWD_DATA_WINOGRAD";
                case CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD_NONFUSED -> "BWD_DATA_WINOGRAD_NONFUSED";
                default -> "backward-data algorithm " + algo;
            };
        }
        return switch (algo) {
            case CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM -> "IMPLICIT_GEMM";
            case CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM -> "IMPLICIT_PRECOMP_GEMM";
            case CUDNN_CONVOLUTION_FWD_ALGO_GEMM -> "GEMM";
            case CUDNN_CONVOLUTION_FWD_ALGO_DIRECT -> "DIRECT";
            case CUDNN_CONVOLUTION_FWD_ALGO_FFT -> "FFT";
            case CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING -> "FFT_TILING";
            case CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD -> "WINOGRAD";
            case CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED -> "WINOGRAD_NONFUSED";
            default -> "algorithm " + algo;
        };
    }

    @Override
    public String toString() {
        return algoName() + "/" + ConvMath.mathName(mathType) + (status == CUDNN_STATUS_SUCCESS ? "" : " status " + status)
                + " " + memory + " B " + timeMs + " ms";
    }
}
