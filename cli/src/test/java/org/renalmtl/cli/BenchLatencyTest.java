package org.renalmtl.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.renalmtl.cli.bench.Latency;

/** Nearest-rank percentiles, and no p90 from fewer than 20 samples. */
class BenchLatencyTest {
    @Test
    void p90NeedsTwentySamples() {
        // 19 samples 1..19 ms in reverse order: the slowest two would be the "p90"
        Latency few = new Latency(IntStream.rangeClosed(1, 19).map(i -> 20 - i).asDoubleStream().toArray());
        assertTrue(Double.isNaN(few.p90()));
        assertEquals(10, few.p50());
        assertEquals(1, few.min());
        ObjectNode j = new ObjectMapper().createObjectNode();
        few.write(j);
        assertTrue(j.get("p90_ms").isNull());
        assertEquals(19, j.get("samples_ms").size());
        assertEquals(19, j.get("samples_ms").get(0).asDouble()); // raw order kept

        Latency enough = new Latency(IntStream.rangeClosed(1, 20).asDoubleStream().toArray());
        assertEquals(18, enough.p90()); // rank ceil(0.9 * 20) = 18
        assertEquals(10, enough.p50());
        ObjectNode k = new ObjectMapper().createObjectNode();
        enough.write(k);
        assertEquals(18, k.get("p90_ms").asDouble());
        assertTrue(!k.has("p90_omitted"));
    }
}
