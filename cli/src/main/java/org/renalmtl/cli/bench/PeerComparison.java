package org.renalmtl.cli.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.renalmtl.cli.InputException;

/**
 * {@code bench --compare}: ONNX Runtime and libtorch (TorchScript, and frozen with
 * {@code optimize_for_inference}) against renal-mtl on the CPU, through {@code benchmarks/run-cpu.sh}:
 * one JMH run in which every backend loads the same seeded R18-3P-96 MTDL weights and is checked to
 * agree before it is timed. The ratios are renal-mtl's median over each peer's, from that one run.
 */
final class PeerComparison {
    /** The JMH methods compared; renalMtl is the numerator of every ratio. */
    static final List<String> BACKENDS = List.of("renalMtl", "libtorch", "libtorchOptimized", "onnxRuntime");
    /**
     * Where the CPU reports no cache sizes, libtorch's own oneDNN dies with SIGFPE in the frozen module's first
     * forward (benchmarks/README.md), so that backend is left out there and the JSON says why.
     */
    private static final Path CACHE_INFO = Path.of("/sys/devices/system/cpu/cpu0/cache/index0/size");
    private static final String NO_CACHE_INFO = "left out: this CPU reports no cache sizes, on which libtorch's"
            + " oneDNN dies with SIGFPE in the frozen module (benchmarks/README.md)";

    private static final ObjectMapper JSON = new ObjectMapper();

    private PeerComparison() {}

    /** @throws InputException if this renal-mtl does not run from a source tree that has the script */
    static Path script() {
        try {
            Path p = Path.of(PeerComparison.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            for (; p != null; p = p.getParent()) {
                Path s = p.resolve("benchmarks/run-cpu.sh");
                if (Files.isRegularFile(s)) {
                    return s;
                }
            }
        } catch (URISyntaxException | SecurityException e) {
            // falls through to the refusal
        }
        throw new InputException("--compare needs the source tree's benchmarks/run-cpu.sh (the peers are built"
                + " and exported there); it was not found above this renal-mtl");
    }

    /** Runs the script, echoing its output, and reads its JMH results. */
    static ObjectNode run(int threads, PrintStream out) {
        Path script = script();
        List<String> cmd = new ArrayList<>(List.of("bash", script.toString(), "--threads", Integer.toString(threads), "--"));
        List<String> backends = Files.exists(CACHE_INFO) ? BACKENDS
                : BACKENDS.stream().filter(b -> !b.equals("libtorchOptimized")).toList();
        // short JMH iterations: bench's own samples are the careful figures; these are for the ratios
        cmd.addAll(List.of("-wi", "1", "-i", "3", "-r", "5s", "CpuForwardBenchmark.(" + String.join("|", backends) + ")$"));
        ObjectNode c = JSON.createObjectNode();
        c.putPOJO("command", cmd);
        c.put("weights", "run-cpu.sh's seeded R18-3P-96 MTDL (weights/export/export.py --seed 0) and its TorchScript"
                + " and ONNX exports: the same weights for every backend, checked to agree before timing");
        String results = null;
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            p.getOutputStream().close();
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    out.println("   | " + line);
                    if (line.startsWith("== results: ")) {
                        results = line.substring("== results: ".length(), line.indexOf(", log: "));
                    }
                }
            }
            c.put("exit_code", p.waitFor());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
        if (results == null) {
            c.put("error", "run-cpu.sh wrote no results (exit " + c.get("exit_code").asInt() + "; its output is above)");
            return c;
        }
        c.put("results_json", results);
        if (!backends.contains("libtorchOptimized")) {
            c.put("libtorchOptimized_left_out", NO_CACHE_INFO);
        }
        read(Path.of(results), c);
        return c;
    }

    /** Reads JMH's JSON: per backend, median/mean/min and sample count; then renal-mtl / each peer. */
    static void read(Path jmhJson, ObjectNode c) {
        ObjectNode backends = c.putObject("backends");
        try {
            for (JsonNode e : JSON.readTree(jmhJson.toFile())) {
                String name = e.get("benchmark").asText().replaceAll(".*\\.", "");
                JsonNode m = e.get("primaryMetric");
                ObjectNode b = backends.putObject(name);
                b.put("median_ms", m.get("scorePercentiles").get("50.0").asDouble());
                b.put("mean_ms", m.get("score").asDouble());
                b.put("min_ms", m.get("scorePercentiles").get("0.0").asDouble());
                b.put("unit", m.get("scoreUnit").asText());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(jmhJson + ": " + e.getMessage(), e);
        }
        ObjectNode ratios = c.putObject("renal_mtl_over_peer_median");
        JsonNode ours = backends.get("renalMtl");
        for (String peer : BACKENDS.subList(1, BACKENDS.size())) {
            JsonNode theirs = backends.get(peer);
            if (ours == null || theirs == null) {
                ratios.putNull(peer);
                c.put(peer + "_missing", "no result in " + jmhJson + " (failed or not run: see the log beside it)");
            } else {
                ratios.put(peer, ours.get("median_ms").asDouble() / theirs.get("median_ms").asDouble());
            }
        }
    }

    /** @return one line per ratio */
    static String summary(JsonNode c) {
        StringBuilder s = new StringBuilder();
        JsonNode ratios = c.get("renal_mtl_over_peer_median");
        if (ratios == null) {
            return "== peers: " + c.get("error").asText();
        }
        ratios.properties().forEach(e -> s.append(e.getValue().isNull()
                ? String.format(Locale.ROOT, "== renal-mtl / %s: no result%n", e.getKey())
                : String.format(Locale.ROOT, "== renal-mtl / %s = %.3f (renal-mtl %.2fx as fast)%n", e.getKey(),
                        e.getValue().asDouble(), 1 / e.getValue().asDouble())));
        return s.toString().stripTrailing();
    }
}
