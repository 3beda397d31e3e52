package org.renalmtl.cli.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Locale;

/** What {@code bench} prints: one row per model set, and the paper's sentence from the base point. */
final class BenchText {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final double MIB = 1024.0 * 1024.0;

    private BenchText() {}

    /** @return the column heads of {@link #row} */
    static String header() {
        return String.format(Locale.ROOT, "   %-18s %3s %9s %9s %9s %9s %8s %7s %7s %10s %10s", "model set", "n",
                "p50 ms", "p90 ms", "min ms", "cases/s", "GFLOP/s", "%conv", "%FMA", "plan MiB", "RSS MiB");
    }

    /** @return one variant's row; %conv and %FMA are its fractions of the conv and FMA-loop peaks */
    static String row(String name, JsonNode v) {
        JsonNode lat = v.get("latency");
        return String.format(Locale.ROOT, "   %-18s %3d %9.1f %9s %9.1f %9.2f %8.1f %7s %7s %10.1f %10.1f", name,
                lat.get("n").asInt(), lat.get("p50_ms").asDouble(),
                lat.get("p90_ms").isNull() ? "-" : String.format(Locale.ROOT, "%.1f", lat.get("p90_ms").asDouble()),
                lat.get("min_ms").asDouble(), v.get("throughput_cases_per_s").asDouble(),
                v.get("achieved_gflops_p50").asDouble(),
                percent(v.path("fraction_of_peak")), percent(v.path("fraction_of_fma_peak")),
                v.get("memory_planned").get("total_bytes").asLong() / MIB,
                v.get("memory_measured").get("rss_model_peak_bytes").asLong() / MIB);
    }

    /**
     * The paper's comparison at the base point: the multi-task model against the single-task models run
     * as a user runs them (separately), in time (p50) and memory (measured and planned).
     */
    static ObjectNode headline(JsonNode base, String device) {
        JsonNode m = BenchRun.variant(base, "mtdl");
        JsonNode sep = BenchRun.variant(base, "stdl_separate");
        JsonNode shared = BenchRun.variant(base, "stdl_shared_arena");
        ObjectNode h = JSON.createObjectNode();
        double faster = 1 - p50(m) / p50(sep);
        double rss = 1 - rss(m) / rss(sep);
        double planned = 1 - planned(m) / planned(sep);
        h.put("time_saving_vs_stdl_separate", faster);
        h.put("measured_memory_saving_vs_stdl_separate", rss);
        h.put("planned_memory_saving_vs_stdl_separate", planned);
        h.put("time_saving_vs_stdl_shared_arena", 1 - p50(m) / p50(shared));
        h.put("measured_memory_saving_vs_stdl_shared_arena", 1 - rss(m) / rss(shared));
        h.put("planned_memory_saving_vs_stdl_shared_arena", 1 - planned(m) / planned(shared));
        h.put("sentence", String.format(Locale.ROOT,
                "On %s with %d thread(s), at %d^3 and batch %d, the multi-task model needs %.0f%% %s memory"
                        + " (measured peak RSS; %.0f%% %s planned) and is %.0f%% %s (p50) than the %d single-task"
                        + " models run one after another. (Paper, on a GPU: 68%% less memory, 60%% faster.)",
                device, base.get("threads").asInt(), base.get("size").asInt(), base.get("batch").asInt(),
                100 * Math.abs(rss), rss >= 0 ? "less" : "more", 100 * Math.abs(planned), planned >= 0 ? "less" : "more",
                100 * Math.abs(faster), faster >= 0 ? "faster" : "slower", base.get("tasks").asInt()));
        return h;
    }

    private static String percent(JsonNode fraction) {
        return fraction.isNumber() ? String.format(Locale.ROOT, "%.0f%%", 100 * fraction.asDouble()) : "-";
    }

    private static double p50(JsonNode v) {
        return v.get("latency").get("p50_ms").asDouble();
    }

    private static double rss(JsonNode v) {
        return v.get("memory_measured").get("rss_model_peak_bytes").asDouble();
    }

    private static double planned(JsonNode v) {
        return v.get("memory_planned").get("total_bytes").asDouble();
    }
}
