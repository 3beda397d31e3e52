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
import org.renalmtl.cli.bench.SegBenchRun;

/** {@code renal-mtl bench --config seg-…}: the fields of its JSON and its refusals. Nothing here is timed. */
class BenchSegTest {
    @Test
    void phantomJsonHoldsPatchWindowMemoryAndFlops(@TempDir Path dir) throws Exception {
        Path json = dir.resolve("seg.json");
        Cli.Run r = Cli.run("bench", "--device", "cpu", "--config", "seg-phantom", "--sizes", "48,64", "--batch", "1,2",
                "--threads", 1, "--runs", 2, "--warmup", 0, "--json", json);
        assertEquals(0, r.code(), r::toString);
        assertTrue(r.out().contains("MTDL vs STDL: not applicable"), r::toString);
        JsonNode j = new ObjectMapper().readTree(json.toFile());
        assertEquals(SegBenchRun.SCHEMA, j.get("schema").asText());
        assertEquals("seg-phantom", j.get("config").asText());
        assertEquals(SegBenchRun.NOT_APPLICABLE, j.get("mtdl_vs_stdl").asText());
        assertFalse(j.has("headline") && j.get("headline").has("time_saving_vs_stdl_separate"));
        assertTrue(j.get("peak").get(0).get("fma_gflops").asDouble() > 0);
        assertEquals(4, j.get("points").size()); // sizes × batches
        for (JsonNode p : j.get("points")) {
            int batch = p.get("batch").asInt();
            assertEquals("[32,48,48]", p.get("patch").toString()); // the phantom model's patch (z, y, x)
            // phantom U-Net: 4 stages 8..48 features on a 32x48x48 patch: a few hundred MFLOP, not zero, not TFLOP
            long flops = p.get("flops_per_patch").asLong();
            assertTrue(flops > 1e8 && flops < 1e11, "flops " + flops);
            JsonNode fwd = p.get("patch_forward");
            assertEquals(batch, fwd.get("tiles_per_call").asInt());
            assertEquals(2, fwd.get("latency").get("samples_ms").size());
            assertTrue(fwd.get("latency").get("p90_ms").isNull(), "p90 from 2 samples");
            assertTrue(fwd.get("fraction_of_peak").asDouble() > 0);
            assertTrue(fwd.get("fraction_of_fma_peak").asDouble() > 0);
            JsonNode sw = p.get("sliding_window");
            assertEquals(2, sw.get("latency").get("samples_ms").size());
            // nnU-Net's tiling at step 0.5: per axis ceil((edge - patch) / (patch / 2)) + 1 tiles
            int edge = p.get("size").asInt();
            int tiles = tiles(edge, 32) * tiles(edge, 48) * tiles(edge, 48);
            assertEquals((tiles + batch - 1) / batch, sw.get("network_calls").asInt(), "edge " + edge);
            JsonNode planned = p.get("memory_planned");
            assertEquals(planned.get("weight_bytes").asLong() + planned.get("activation_bytes").asLong(),
                    planned.get("total_bytes").asLong());
            assertTrue(planned.get("weight_bytes").asLong() > 0);
            JsonNode measured = p.get("memory_measured");
            assertTrue(measured.get("rss_peak_bytes").asLong() >= measured.get("rss_end_bytes").asLong());
            // at least the cube itself (float32) was resident
            assertTrue(measured.get("rss_model_peak_bytes").asLong() > 4L * edge * edge * edge, "RSS");
        }
        assertTrue(j.get("headline").get("sentence").asText().contains("not applicable"));
    }

    private static int tiles(int edge, int patch) {
        return edge <= patch ? 1 : (int) Math.ceil((edge - patch) / (patch * 0.5)) + 1;
    }

    @ParameterizedTest
    @ValueSource(strings = {"--config=seg-phantom --tasks=5", "--config=seg-phantom --plot=PLOTS",
        "--config=seg-nnunet-default --model=/nonexistent.h5", "--config=seg-phantom --compare", "--config=seg-unet"})
    void badSegOptionsAreOneLineAndExit2(String options, @TempDir Path dir) {
        Path json = dir.resolve("out.json");
        List<Object> args = new java.util.ArrayList<>(List.of("bench", "--json", json));
        for (String o : options.split(" ")) {
            args.add(o.replace("PLOTS", dir.resolve("plots").toString()));
        }
        Cli.Run r = Cli.run(args.toArray());
        assertEquals(2, r.code(), r::toString);
        assertEquals(1, r.err().lines().count(), r::toString);
        assertFalse(Files.exists(json), "nothing written");
    }
}
