package org.renalmtl.engine.cuda;

import static org.bytedeco.cuda.global.cudnn.CUDNN_DEFAULT_MATH;
import static org.bytedeco.cuda.global.cudnn.CUDNN_FMA_MATH;
import static org.bytedeco.cuda.global.cudnn.CUDNN_STATUS_NOT_SUPPORTED;
import static org.bytedeco.cuda.global.cudnn.CUDNN_STATUS_SUCCESS;
import static org.bytedeco.cuda.global.cudnn.CUDNN_TENSOR_OP_MATH;
import static org.bytedeco.cuda.global.cudnn.CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.renalmtl.engine.Precision;

/**
 * The math-type decisions of the CUDA backend, on any machine: what each precision accepts from
 * cuDNN's algorithm search, and the version guards for cuDNN's known 3-D convolution bugs.
 */
class ConvMathTest {
    private static final long CUDNN_9_19 = 91900;

    private static ConvMath.Use use(Precision p, long version) {
        return assertInstanceOf(ConvMath.Use.class, ConvMath.decide(p, version));
    }

    private static ConvCandidate ok(int algo, int math) {
        return new ConvCandidate(algo, CUDNN_STATUS_SUCCESS, math, 1024, 1f);
    }

    @Test
    void strictFp32AcceptsOnlyFmaMath() {
        ConvMath.Use fp32 = use(Precision.FP32, CUDNN_9_19);
        assertEquals(CUDNN_FMA_MATH, fp32.mathType());
        assertEquals(Set.of(CUDNN_FMA_MATH), fp32.accepted());
        assertNull(fp32.guard());
        // The fastest result is a DEFAULT_MATH one (TF32 allowed): strict fp32 must skip it.
        List<ConvCandidate> found = List.of(ok(1, CUDNN_DEFAULT_MATH), ok(0, CUDNN_TENSOR_OP_MATH),
                ok(6, CUDNN_FMA_MATH));
        assertEquals(List.of(ok(6, CUDNN_FMA_MATH)), fp32.usable(found, 1 << 20));
    }

    @Test
    void usableKeepsSearchOrderAndDropsFailuresAndOversizedWorkspaces() {
        ConvMath.Use tf32 = use(Precision.TF32, CUDNN_9_19);
        ConvCandidate failed = new ConvCandidate(5, CUDNN_STATUS_NOT_SUPPORTED, CUDNN_DEFAULT_MATH, 0, -1f);
        ConvCandidate big = new ConvCandidate(4, CUDNN_STATUS_SUCCESS, CUDNN_DEFAULT_MATH, 1L << 40, 0.1f);
        List<ConvCandidate> found = List.of(failed, big, ok(1, CUDNN_DEFAULT_MATH), ok(0, CUDNN_FMA_MATH),
                ok(2, CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION));
        assertEquals(List.of(ok(1, CUDNN_DEFAULT_MATH), ok(0, CUDNN_FMA_MATH)), tf32.usable(found, 1 << 20));
        // fp16 products also accept the down-converting math type.
        assertEquals(List.of(ok(1, CUDNN_DEFAULT_MATH), ok(0, CUDNN_FMA_MATH),
                ok(2, CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION)), use(Precision.FP16, CUDNN_9_19).usable(found, 1 << 20));
    }

    @Test
    void requestedMathTypePerPrecision() {
        assertEquals(CUDNN_DEFAULT_MATH, use(Precision.TF32, CUDNN_9_19).mathType());
        assertEquals(CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION, use(Precision.FP16, CUDNN_9_19).mathType());
        assertTrue(use(Precision.TF32, CUDNN_9_19).accepted().contains(CUDNN_DEFAULT_MATH));
    }

    @Test
    void bf16IsRefusedOnEveryVersion() {
        for (long v : new long[] {0, 90100, CUDNN_9_19}) {
            ConvMath.Refuse r = assertInstanceOf(ConvMath.Refuse.class, ConvMath.decide(Precision.BF16, v));
            assertTrue(r.reason().contains("bf16"), r.reason());
        }
    }

    @Test
    void tf32FallsBackToFmaOnCudnn9_10_2Through9_15() {
        assertNull(use(Precision.TF32, 91001).guard(), "9.10.1 is before the TF32 bug");
        for (long v : new long[] {91002, 91300, 91599}) {
            ConvMath.Use u = use(Precision.TF32, v);
            assertEquals(CUDNN_FMA_MATH, u.mathType(), "version " + v);
            assertEquals(Set.of(CUDNN_FMA_MATH), u.accepted(), "version " + v);
            assertTrue(u.guard().contains(ConvMath.versionName(v)) && u.guard().contains("#167024")
                    && u.guard().contains("CUDNN_FMA_MATH"), u.guard());
        }
        ConvMath.Use fixed = use(Precision.TF32, 91600);
        assertEquals(CUDNN_DEFAULT_MATH, fixed.mathType());
        assertNull(fixed.guard());
    }

    @Test
    void fp16IsRefusedWhileEitherBugApplies() {
        assertEquals(CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION, use(Precision.FP16, 90799).mathType(),
                "9.7 is before both bugs");
        // Version → the first version that fixes every bug that applies (9.15 fixes fp16, 9.16 TF32).
        long[][] cases = {{90800, 91500}, {91001, 91500}, {91002, 91600}, {91400, 91600}, {91599, 91600}};
        for (long[] c : cases) {
            ConvMath.Refuse r = assertInstanceOf(ConvMath.Refuse.class, ConvMath.decide(Precision.FP16, c[0]),
                    "version " + c[0]);
            assertTrue(r.reason().contains("fp16") && r.reason().contains(ConvMath.versionName(c[0]))
                    && r.reason().contains(ConvMath.versionName(c[1]) + " or later"), r.reason());
        }
        assertTrue(((ConvMath.Refuse) ConvMath.decide(Precision.FP16, 90900)).reason().contains("#163539"));
        assertTrue(((ConvMath.Refuse) ConvMath.decide(Precision.FP16, 91500)).reason().contains("#167024"));
        assertNull(use(Precision.FP16, 91600).guard());
    }

    @Test
    void strictFp32IsNeverNarrowed() {
        for (long v : new long[] {90800, 91002, 91500, CUDNN_9_19}) {
            ConvMath.Use u = use(Precision.FP32, v);
            assertEquals(CUDNN_FMA_MATH, u.mathType());
            assertNull(u.guard(), "version " + v);
        }
    }

    @Test
    void versionNames() {
        assertEquals("9.10.2", ConvMath.versionName(91002));
        assertEquals("9.19.0", ConvMath.versionName(CUDNN_9_19));
    }

    @Test
    void fp16IsLabelledAsProductsOnFloat32Storage() {
        String fp16 = ConvMath.arithmetic(Precision.FP16);
        assertTrue(fp16.contains("float32 storage") && fp16.contains("not an fp16 model"), fp16);
        assertTrue(ConvMath.arithmetic(Precision.FP32).contains("no TF32"));
    }
}
