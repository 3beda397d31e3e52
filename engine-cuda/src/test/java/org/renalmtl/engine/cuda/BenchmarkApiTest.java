package org.renalmtl.engine.cuda;

import static org.bytedeco.cuda.global.cudnn.CUDNN_CONVOLUTION_BWD_DATA_ALGO_1;
import static org.bytedeco.cuda.global.cudnn.CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM;
import static org.bytedeco.cuda.global.cudnn.CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD;
import static org.bytedeco.cuda.global.cudnn.CUDNN_FMA_MATH;
import static org.bytedeco.cuda.global.cudnn.CUDNN_STATUS_SUCCESS;
import static org.bytedeco.cuda.global.cudnn.CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.renalmtl.engine.Precision;

/**
 * The public API a benchmark reads, on any machine: {@link CudaPlan.Convolution} names what
 * {@link ConvChoice} holds as cuDNN ids, and {@link CudaPrecision} says what {@link ConvMath} decides.
 */
class BenchmarkApiTest {
    private static final long CUDNN_9_19 = 91900;

    @Test
    void convolutionNamesAlgorithmMathTypeAndPath() {
        CudaPlan.Convolution fused = CudaPlan.Convolution.of(new ConvChoice("mtdl/conv1",
                new ConvCandidate(CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, CUDNN_STATUS_SUCCESS,
                        CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION, 4096, 0.5f), ConvChoice.Mode.FUSED));
        assertEquals(new CudaPlan.Convolution("mtdl/conv1", "IMPLICIT_PRECOMP_GEMM", "TENSOR_OP_MATH_ALLOW_CONVERSION",
                true, 4096), fused);
        assertEquals("mtdl/conv1=IMPLICIT_PRECOMP_GEMM/TENSOR_OP_MATH_ALLOW_CONVERSION", fused.toString());

        ConvChoice plain = new ConvChoice("renal/venous/layer1.0.downsample", new ConvCandidate(
                CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD, CUDNN_STATUS_SUCCESS, CUDNN_FMA_MATH, 0, 0.1f),
                ConvChoice.Mode.UNFUSED);
        CudaPlan.Convolution unfused = CudaPlan.Convolution.of(plain);
        assertEquals("WINOGRAD", unfused.algorithm());
        assertEquals("FMA_MATH", unfused.mathType());
        assertFalse(unfused.fused());
        assertEquals(0, unfused.workspaceBytes());
        assertEquals(plain.toString(), unfused.toString(), "the same words as the choice in test messages");

        CudaPlan.Convolution transposed = CudaPlan.Convolution.of(new ConvChoice("seg/up1", new ConvCandidate(
                CUDNN_CONVOLUTION_BWD_DATA_ALGO_1, CUDNN_STATUS_SUCCESS, CUDNN_FMA_MATH, 64, 0.2f, true),
                ConvChoice.Mode.UNFUSED));
        assertEquals("BWD_DATA_1", transposed.algorithm());
    }

    @Test
    void convolutionRejectsMissingNamesAndNegativeWorkspace() {
        assertThrows(NullPointerException.class, () -> new CudaPlan.Convolution(null, "GEMM", "FMA_MATH", true, 0));
        assertThrows(IllegalArgumentException.class,
                () -> new CudaPlan.Convolution("l", "GEMM", "FMA_MATH", true, -1));
    }

    @Test
    void precisionSaysWhatConvMathDecides() {
        for (Precision p : Precision.values()) {
            assertEquals(ConvMath.arithmetic(p), CudaPrecision.arithmetic(p));
        }
        assertTrue(CudaPrecision.arithmetic(Precision.FP16).contains("not an fp16 model"));
        // bf16: refused by this build on every version, so no guard either.
        for (long v : new long[] {0, 91002, CUDNN_9_19}) {
            assertTrue(CudaPrecision.refusal(Precision.BF16, v).orElseThrow().contains("bf16"));
            assertEquals(Optional.empty(), CudaPrecision.guard(Precision.BF16, v));
        }
        // fp16 on a cuDNN with the fp16 3-D bug: refused with the issue; fine on 9.19.
        assertTrue(CudaPrecision.refusal(Precision.FP16, 90900).orElseThrow().contains("#163539"));
        assertEquals(Optional.empty(), CudaPrecision.refusal(Precision.FP16, CUDNN_9_19));
        assertEquals(Optional.empty(), CudaPrecision.guard(Precision.FP16, CUDNN_9_19));
        // tf32 on the broken TF32 kernel's versions: runs, narrowed to strict fp32, with a guard.
        assertEquals(Optional.empty(), CudaPrecision.refusal(Precision.TF32, 91002));
        String guard = CudaPrecision.guard(Precision.TF32, 91002).orElseThrow();
        assertTrue(guard.contains("9.10.2") && guard.contains("CUDNN_FMA_MATH"), guard);
        assertEquals(Optional.empty(), CudaPrecision.guard(Precision.TF32, CUDNN_9_19));
        assertEquals(Optional.empty(), CudaPrecision.refusal(Precision.FP32, 91002));
        assertEquals(Optional.empty(), CudaPrecision.guard(Precision.FP32, 91002));
    }

    @Test
    void precisionOnThisProcessUsesTheProbedVersion() {
        for (Precision p : Precision.values()) {
            assertEquals(CudaPrecision.refusal(p, CudaRuntime.cudnnVersion()), CudaPrecision.refusal(p));
            assertEquals(CudaPrecision.guard(p, CudaRuntime.cudnnVersion()), CudaPrecision.guard(p));
        }
    }
}
