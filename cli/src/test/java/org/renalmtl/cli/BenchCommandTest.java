package org.renalmtl.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BenchCommandTest {
    @Test
    void comparesMultiTaskWithSingleTaskModels(@TempDir Path dir) throws Exception {
        Path json = dir.resolve("bench.json");
        Cli.Run r = Cli.run("bench", "--device", "cpu", "--runs", 1, "--warmup", 0, "--json", json);
        assertEquals(0, r.code(), r::toString);
        assertTrue(r.out().contains("MTDL vs three STDL"), r::toString);
        JsonNode j = new ObjectMapper().readTree(json.toFile());
        assertEquals(2, j.get("results").size());
        JsonNode m = j.get("results").get(0);
        JsonNode s = j.get("results").get(1);
        assertEquals("mtdl", m.get("model").asText());
        assertEquals("stdl", s.get("model").asText());
        // Every weight counts, packed: one backbone of 33.16 M fp32 parameters plus the PLE head for MTDL,
        // three backbones plus three small heads for STDL.
        long backbone = 33_160_000L * Float.BYTES;
        long mtdl = m.get("weight_bytes").asLong();
        long stdl = s.get("weight_bytes").asLong();
        assertTrue(mtdl > backbone && mtdl < 1.25 * backbone, j::toString);
        assertTrue(stdl > 3 * backbone && stdl < 3.1 * backbone, j::toString);
        assertTrue(m.get("activation_bytes").asLong() >= m.get("activation_lower_bound_bytes").asLong());
        assertTrue(m.get("p50_ms").asDouble() > 0 && m.get("p90_ms").asDouble() >= m.get("p50_ms").asDouble());
    }

    @Test
    void badOptionsAreInputErrors() {
        Cli.Run r = Cli.run("bench", "--runs", 0);
        assertEquals(2, r.code(), r::toString);
    }
}
