package org.renalmtl.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.renalmtl.cli.bench.BenchRun;

/** {@code renal-mtl bench}: what its JSON holds, its plots, and its refusals. Nothing here is timed. */
class BenchCommandTest {
    @Test
    void jsonHoldsEveryFieldAndRefusesP90FromFewSamples(@TempDir Path dir) throws Exception {
        Path json = dir.resolve("bench.json");
        Path plots = dir.resolve("plots");
        Cli.Run r = Cli.run("bench", "--device", "cpu", "--config", "r10", "--sizes", 32, "--tasks", "1,2", "--threads", 1,
                "--runs", 3, "--warmup", 0, "--json", json, "--plot", plots);
        assertEquals(0, r.code(), r::toString);
        assertTrue(r.out().contains(" memory (measured peak RSS; "), r::toString); // less or more: measured, not asserted
        JsonNode j = new ObjectMapper().readTree(json.toFile());
        assertEquals(BenchRun.SCHEMA, j.get("schema").asText());
        for (String f : List.of("cpu_model", "logical_cpus", "physical_cores", "jvm", "onednn_version", "onednn_isa",
                "engine", "load_average_before", "load_average_after")) {
            assertTrue(j.get("machine").has(f), f);
        }
        assertEquals(3, j.get("machine").get("load_average_before").size());
        assertEquals("cpu", j.get("device").asText());
        JsonNode peak = j.get("peak").get(0);
        assertEquals(1, peak.get("threads").asInt());
        assertTrue(peak.get("gflops").asDouble() > 0);
        assertTrue(peak.get("fma_gflops").asDouble() > 0);
        assertTrue(peak.get("fma_method").asText().contains("FMA"));
        assertTrue(r.out().contains("%FMA"), r::toString);
        assertEquals(2, j.get("points").size()); // tasks 1 and 2 at 32^3, batch 1
        for (JsonNode p : j.get("points")) {
            assertEquals(32, p.get("size").asInt());
            int tasks = p.get("tasks").asInt();
            for (String v : BenchRun.VARIANTS) {
                JsonNode x = p.get("variants").get(v);
                JsonNode lat = x.get("latency");
                assertEquals(3, lat.get("n").asInt());
                assertEquals(3, lat.get("samples_ms").size());
                assertTrue(lat.get("p90_ms").isNull(), "p90 from 3 samples");
                assertTrue(lat.get("p90_omitted").asText().contains("20"));
                assertTrue(lat.get("min_ms").asDouble() <= lat.get("p50_ms").asDouble());
                assertEquals(v.equals("stdl_separate") ? tasks : 1, x.get("models").asInt(), v);
                assertTrue(x.get("flops_per_forward").asLong() > 0);
                assertTrue(x.get("fraction_of_peak").asDouble() > 0);
                assertEquals(peak.get("fma_gflops").asDouble(), x.get("fma_peak_gflops").asDouble());
                assertEquals(x.get("achieved_gflops_p50").asDouble() / x.get("fma_peak_gflops").asDouble(),
                        x.get("fraction_of_fma_peak").asDouble(), 1e-12);
                assertTrue(x.get("peak_gflops_after").asDouble() > 0);
                assertTrue(x.get("peak_gflops_used").asDouble() >= Math.max(peak.get("gflops").asDouble(),
                        x.get("peak_gflops_after").asDouble()));
                assertTrue(x.get("throughput_cases_per_s").asDouble() > 0);
                JsonNode planned = x.get("memory_planned");
                assertEquals(planned.get("weight_bytes").asLong() + planned.get("activation_bytes").asLong()
                        + planned.get("scratch_bytes").asLong(), planned.get("total_bytes").asLong());
                JsonNode measured = x.get("memory_measured");
                assertTrue(measured.get("rss_peak_bytes").asLong() >= measured.get("rss_end_bytes").asLong());
                // the packed weights were resident at some point
                assertTrue(measured.get("rss_model_peak_bytes").asLong() > planned.get("weight_bytes").asLong() / 2, v);
            }
            JsonNode sep = p.get("variants").get("stdl_separate");
            JsonNode shared = p.get("variants").get("stdl_shared_arena");
            // the same networks, so the same FLOPs and parameters; separate plans hold separate arenas
            assertEquals(sep.get("flops_per_forward"), shared.get("flops_per_forward"));
            assertEquals(sep.get("parameters"), shared.get("parameters"));
            assertTrue(sep.get("memory_planned").get("activation_bytes").asLong()
                    >= shared.get("memory_planned").get("activation_bytes").asLong());
        }
        assertTrue(j.get("headline").get("sentence").asText().contains("faster"));
        for (String f : List.of("latency-vs-tasks.png", "latency-vs-tasks.svg", "memory-vs-tasks.png", "memory-vs-tasks.svg")) {
            assertTrue(Files.size(plots.resolve(f)) > 1000, f);
        }
        assertFalse(Files.exists(plots.resolve("latency-vs-size.png")), "one size: no size plot");
    }

    @ParameterizedTest
    @ValueSource(strings = {"--config=r19", "--config=seg-x", "--runs=0", "--warmup=-1", "--batch=0", "--sizes=16",
        "--tasks=0", "--tasks=17", "--threads=0", "--precision=fp8", "--compare --config=r10",
        "--model=/nonexistent.h5 --tasks=5", "--device=tpu"})
    void badOptionsAreOneLineAndExit2(String options, @TempDir Path dir) {
        Path json = dir.resolve("out.json");
        List<Object> args = new java.util.ArrayList<>(List.of("bench", "--json", json));
        args.addAll(List.of((Object[]) options.split(" ")));
        Cli.Run r = Cli.run(args.toArray());
        assertEquals(2, r.code(), r::toString);
        assertEquals(1, r.err().lines().count(), r::toString);
        assertFalse(Files.exists(json), "nothing written");
    }
}
