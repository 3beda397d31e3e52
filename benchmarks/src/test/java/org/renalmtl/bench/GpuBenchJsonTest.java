package org.renalmtl.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.renalmtl.engine.Precision;
import org.renalmtl.engine.cuda.CudaPlan;
import org.renalmtl.engine.cuda.CudaPrecision;
import org.renalmtl.engine.cuda.CudaRuntime;

/** What GpuBench writes, read back as JSON on any machine, and its exit codes without a GPU. */
class GpuBenchJsonTest {
    @TempDir
    Path dir;

    private static JsonNode read(Path json) throws IOException {
        return new ObjectMapper().readTree(json.toFile());
    }

    @Test
    void resultRecordsArithmeticAndEveryConvolution() throws Exception {
        List<CudaPlan.Convolution> convs = List.of(
                new CudaPlan.Convolution("mtdl/conv1", "IMPLICIT_PRECOMP_GEMM", "TENSOR_OP_MATH_ALLOW_CONVERSION", true,
                        4096),
                new CudaPlan.Convolution("renal/venous/layer1.0.downsample", "WINOGRAD", "FMA_MATH", false, 0));
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("precision", Precision.FP16.label());
        r.put("arithmetic", CudaPrecision.arithmetic(Precision.FP16));
        r.put("p50_ms", 1.25);
        r.put("weight_bytes", 1L << 33);
        r.put("convolutions", convs.stream().map(GpuBench::convolution).toList());
        Path json = dir.resolve("java-bench.json");
        GpuBench.writeAtomically(json, r);
        JsonNode node = read(json);
        assertEquals(List.of("precision", "arithmetic", "p50_ms", "weight_bytes", "convolutions"),
                iterable(node.fieldNames()), "fields in the order they were recorded");
        assertEquals("fp16", node.get("precision").asText());
        assertTrue(node.get("arithmetic").asText().contains("float32 storage"));
        assertEquals(1.25, node.get("p50_ms").asDouble());
        assertEquals(1L << 33, node.get("weight_bytes").asLong());
        JsonNode first = node.get("convolutions").get(0);
        assertEquals(List.of("layer", "algo", "math", "mode", "workspace_bytes"), iterable(first.fieldNames()));
        assertEquals("mtdl/conv1", first.get("layer").asText());
        assertEquals("IMPLICIT_PRECOMP_GEMM", first.get("algo").asText());
        assertEquals("TENSOR_OP_MATH_ALLOW_CONVERSION", first.get("math").asText());
        assertEquals("fused", first.get("mode").asText());
        assertEquals(4096, first.get("workspace_bytes").asLong());
        JsonNode second = node.get("convolutions").get(1);
        assertEquals("WINOGRAD", second.get("algo").asText());
        assertEquals("FMA_MATH", second.get("math").asText());
        assertEquals("conv+affine_act", second.get("mode").asText());
    }

    @Test
    void stringsAreEscapedAndNonFiniteNumbersAreNull() throws Exception {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("error", "CudaException: \"quoted\"\nsecond line\t\\ \u0001");
        r.put("max_abs_diff_vs_fp32", Double.NaN);
        r.put("min_ms", Float.POSITIVE_INFINITY);
        r.put("mean_ms", 0.5f);
        Path json = dir.resolve("java-bench.json");
        GpuBench.writeAtomically(json, r);
        JsonNode node = read(json);
        assertEquals("CudaException: \"quoted\"\nsecond line\t\\ \u0001", node.get("error").asText());
        assertTrue(node.get("max_abs_diff_vs_fp32").isNull());
        assertTrue(node.get("min_ms").isNull());
        assertEquals(0.5, node.get("mean_ms").asDouble());
    }

    @Test
    void writingReplacesTheFileAndLeavesNoTemporaryFile() throws Exception {
        Path json = dir.resolve("java-bench.json");
        GpuBench.writeAtomically(json, Map.of("complete", false));
        GpuBench.writeAtomically(json, Map.of("complete", true));
        assertTrue(read(json).get("complete").asBoolean());
        assertTrue(Files.readString(json).endsWith("}\n"));
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of(json), files.toList());
        }
    }

    @Test
    void badOptionsExitWith2() throws Exception {
        Path weights = Files.writeString(dir.resolve("w.h5"), "not HDF5");
        assertEquals(2, quietly(new String[] {}));
        assertEquals(2, quietly(new String[] {"--weights"}));
        assertEquals(2, quietly(new String[] {"--weights", dir.resolve("absent.h5").toString()}));
        assertEquals(2, quietly(new String[] {"--weights", weights.toString(), "--bogus", "1"}));
        assertEquals(2, quietly(new String[] {"--weights", weights.toString(), "--batches", "1,-8"}));
        assertEquals(2, quietly(new String[] {"--weights", weights.toString(), "--size", "96,96"}));
        assertEquals(2, quietly(new String[] {"--weights", weights.toString(), "--iterations", "0"}));
        assertEquals(2, quietly(new String[] {"--weights", weights.toString(), "--precisions", "fp8"}));
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of(weights), files.toList(), "no JSON for bad options");
        }
    }

    @Test
    void withoutAGpuTheJsonSaysWhyAndTheExitCodeIs1() throws Exception {
        assumeFalse(CudaRuntime.available(), "a GPU is usable here: this checks the machine without one");
        Path weights = Files.writeString(dir.resolve("w.h5"), "not read without a GPU");
        Path json = dir.resolve("java-bench.json");
        assertEquals(1, quietly(new String[] {"--weights", weights.toString(), "--warmups", "3", "--json",
                json.toString()}));
        JsonNode node = read(json);
        assertEquals(List.of("engine", "cuda", "warmups", "complete", "results"), iterable(node.fieldNames()));
        assertEquals("renal-mtl CudaPlan", node.get("engine").asText());
        assertEquals(CudaRuntime.describe(), node.get("cuda").asText());
        assertTrue(node.get("cuda").asText().startsWith("CUDA unavailable: "));
        assertEquals(3, node.get("warmups").asInt());
        assertFalse(node.get("complete").asBoolean());
        assertTrue(node.get("results").isArray() && node.get("results").isEmpty());
    }

    /** Runs GpuBench with its console output captured and dropped. */
    private static int quietly(String[] args) {
        PrintStream out = System.out;
        PrintStream err = System.err;
        try (PrintStream sink = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8)) {
            System.setOut(sink);
            System.setErr(sink);
            return GpuBench.run(args);
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
    }

    private static List<String> iterable(Iterator<String> it) {
        List<String> out = new ArrayList<>();
        it.forEachRemaining(out::add);
        return out;
    }
}
