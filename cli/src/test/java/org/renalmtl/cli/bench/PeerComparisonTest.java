package org.renalmtl.cli.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading run-cpu.sh's JMH JSON: medians per backend and renal-mtl's median over each peer's. */
class PeerComparisonTest {
    @Test
    void ratiosAreOfMediansAndAMissingPeerIsSaid(@TempDir Path dir) throws Exception {
        Path jmh = dir.resolve("cpu.json");
        Files.writeString(jmh, "[" + entry("renalMtl", 200, 190) + "," + entry("libtorch", 800, 700) + ","
                + entry("onnxRuntime", 400, 380) + "]");
        ObjectNode c = new ObjectMapper().createObjectNode();
        PeerComparison.read(jmh, c);
        assertEquals(200, c.get("backends").get("renalMtl").get("median_ms").asDouble());
        assertEquals(190, c.get("backends").get("renalMtl").get("min_ms").asDouble());
        assertEquals(0.25, c.get("renal_mtl_over_peer_median").get("libtorch").asDouble(), 1e-12);
        assertEquals(0.5, c.get("renal_mtl_over_peer_median").get("onnxRuntime").asDouble(), 1e-12);
        assertTrue(c.get("renal_mtl_over_peer_median").get("libtorchOptimized").isNull());
        assertTrue(c.has("libtorchOptimized_missing"));
        assertTrue(PeerComparison.summary(c).contains("renal-mtl / libtorch = 0.250 (renal-mtl 4.00x as fast)"));
    }

    /** One JMH sample-time result as JMH writes it (the fields read, with a mean unlike the median). */
    private static String entry(String method, double median, double min) {
        return "{\"benchmark\":\"org.renalmtl.bench.CpuForwardBenchmark." + method + "\",\"mode\":\"sample\","
                + "\"primaryMetric\":{\"score\":" + (median * 1.1) + ",\"scoreUnit\":\"ms/op\",\"scorePercentiles\":"
                + "{\"0.0\":" + min + ",\"50.0\":" + median + ",\"90.0\":" + (median * 1.2) + "}}}";
    }
}
