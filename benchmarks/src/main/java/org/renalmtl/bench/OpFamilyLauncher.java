package org.renalmtl.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.CommandLineOptionException;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.OptionsBuilder;

/**
 * Runs {@link OpFamilyBenchmark} (JMH options as arguments, e.g. {@code -p op=conv-stem,peak-conv}) and
 * prints, per op family, the median time and the rate it reaches: GFLOP/s against {@code peak-conv}'s (the
 * machine's attainable conv rate, measured in the same run) or GB/s against {@code bandwidth-add}'s (a
 * memory-bound stream). {@code -Dops.json=FILE} also writes the table as JSON. Exit 1 if JMH failed.
 */
public final class OpFamilyLauncher {
    private OpFamilyLauncher() {}

    /** @param args JMH command-line options */
    public static void main(String[] args) throws IOException {
        try {
            CommandLineOptions cli = new CommandLineOptions(args);
            Collection<RunResult> results = new Runner(new OptionsBuilder().parent(cli)
                    .include(OpFamilyBenchmark.class.getName()).build()).run();
            ObjectNode table = table(results, System.out);
            String json = System.getProperty("ops.json");
            if (json != null) {
                Files.writeString(Path.of(json), new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(table));
            }
        } catch (CommandLineOptionException | RunnerException e) {
            System.err.println("op-benchmark: error: " + e.getMessage());
            System.exit(1);
        }
    }

    static ObjectNode table(Collection<RunResult> results, PrintStream out) {
        Map<String, Double> medianMs = new HashMap<>();
        for (RunResult r : results) {
            medianMs.put(r.getParams().getParam("op"), r.getPrimaryResult().getStatistics().getPercentile(50));
        }
        ObjectNode root = new ObjectMapper().createObjectNode();
        root.put("threads", System.getenv().getOrDefault("OMP_NUM_THREADS", "all"));
        ArrayNode rows = root.putArray("ops");
        Double peakMs = medianMs.get("peak-conv");
        Double bwMs = medianMs.get("bandwidth-add");
        out.printf("%n# op families on the CPU (median of JMH samples)%n%-18s %10s %12s %12s %10s%n", "op", "median ms",
                "GFLOP/s", "GB/s", "of peak");
        try (Arena arena = Arena.ofConfined()) {
            OpFamilies.Case peak = OpFamilies.build("peak-conv", arena);
            OpFamilies.Case bw = OpFamilies.build("bandwidth-add", arena);
            for (String name : OpFamilies.NAMES) {
                Double ms = medianMs.get(name);
                if (ms == null) {
                    continue;
                }
                OpFamilies.Case c = OpFamilies.build(name, arena);
                double gflops = c.flops() / (ms * 1e6);
                double gbs = c.bytes() / (ms * 1e6);
                Double ref = c.compute() ? (peakMs == null ? null : peak.flops() / (peakMs * 1e6))
                        : (bwMs == null ? null : bw.bytes() / (bwMs * 1e6));
                Double frac = ref == null ? null : (c.compute() ? gflops : gbs) / ref;
                ObjectNode row = rows.addObject();
                row.put("op", name).put("median_ms", ms).put("flops", c.flops()).put("bytes", c.bytes())
                        .put("gflops", gflops).put("gbytes_per_s", gbs).put("judged_by", c.compute() ? "flops" : "bytes");
                if (frac == null) {
                    row.putNull("fraction_of_reference");
                } else {
                    row.put("fraction_of_reference", frac);
                }
                out.printf(Locale.ROOT, "%-18s %10.3f %12.1f %12.1f %10s%n", name, ms, gflops, gbs,
                        frac == null ? "-" : String.format(Locale.ROOT, "%.0f%%", 100 * frac));
            }
        }
        return root;
    }
}
