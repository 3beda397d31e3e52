package org.renalmtl.engine.cuda;

import static org.bytedeco.cuda.global.cudnn.CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM;
import static org.bytedeco.cuda.global.cudnn.CUDNN_FMA_MATH;
import static org.bytedeco.cuda.global.cudnn.CUDNN_STATUS_SUCCESS;
import static org.bytedeco.cuda.global.cudnn.CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.renalmtl.engine.Precision;

/** What GpuBench writes per result about its arithmetic and each convolution, read back as JSON on any machine. */
class GpuBenchJsonTest {
    @Test
    void resultRecordsArithmeticAndEveryConvolution() throws Exception {
        List<CudaPlan.Convolution> convs = List.of(
                CudaPlan.Convolution.of(new ConvChoice("mtdl/conv1", new ConvCandidate(
                        CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, CUDNN_STATUS_SUCCESS,
                        CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION, 4096, 0.5f), ConvChoice.Mode.FUSED)),
                CudaPlan.Convolution.of(new ConvChoice("renal/venous/layer1.0.downsample", new ConvCandidate(6,
                        CUDNN_STATUS_SUCCESS, CUDNN_FMA_MATH, 0, 0.1f), ConvChoice.Mode.UNFUSED)));
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("precision", Precision.FP16.label());
        r.put("arithmetic", CudaPrecision.arithmetic(Precision.FP16));
        r.put("p50_ms", 1.25);
        r.put("convolutions", convs.stream().map(GpuBench::convolution).toList());
        JsonNode json = new ObjectMapper().readTree(GpuBench.toJson(r));
        assertEquals("fp16", json.get("precision").asText());
        assertTrue(json.get("arithmetic").asText().contains("float32 storage"));
        assertEquals(1.25, json.get("p50_ms").asDouble());
        JsonNode first = json.get("convolutions").get(0);
        assertEquals("mtdl/conv1", first.get("layer").asText());
        assertEquals("IMPLICIT_PRECOMP_GEMM", first.get("algo").asText());
        assertEquals("TENSOR_OP_MATH_ALLOW_CONVERSION", first.get("math").asText());
        assertEquals("fused", first.get("mode").asText());
        assertEquals(4096, first.get("workspace_bytes").asLong());
        JsonNode second = json.get("convolutions").get(1);
        assertEquals("WINOGRAD", second.get("algo").asText());
        assertEquals("FMA_MATH", second.get("math").asText());
        assertEquals("conv+bias_act", second.get("mode").asText());
    }

    @Test
    void stringsAreEscaped() throws Exception {
        Map<String, Object> r = Map.of("error", "CudaException: \"quoted\"\nsecond line\t\\");
        assertEquals("CudaException: \"quoted\"\nsecond line\t\\",
                new ObjectMapper().readTree(GpuBench.toJson(r)).get("error").asText());
    }
}
