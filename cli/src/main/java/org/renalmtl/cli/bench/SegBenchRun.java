package org.renalmtl.cli.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.renalmtl.engine.Device;

/**
 * {@code renal-mtl bench --config seg-…}: the segmentation network ({@link SegNetworks}) timed as one patch
 * forward and as a whole sliding-window segmentation of a synthetic cube, with planned and measured memory
 * and FLOPs against both peaks, per thread count, volume edge ({@code --sizes}) and tiles per call
 * ({@code --batch}); each point in a fresh JVM ({@link WorkerProcess}). There is one network, so the
 * multi- versus single-task comparison does not apply and is not printed.
 */
public final class SegBenchRun {
    /** Version of the segmentation JSON layout. */
    public static final String SCHEMA = "renal-mtl-bench-seg/1";
    /** What the JSON and the text say instead of an MTDL/STDL comparison. */
    public static final String NOT_APPLICABLE = "not applicable: the segmentation network is one network with no"
            + " task heads, so there is no multi- versus single-task comparison to make";
    /** The synthetic cube's edge when --sizes is not given: a few tiles of either network's patch. */
    static final int DEFAULT_EDGE = 160;

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final double MIB = 1024.0 * 1024.0;
    private final BenchSettings s;
    private final PrintStream out;
    private final Path work;

    /**
     * @param out progress and the table
     * @param work scratch directory (the phantom model's copy, worker logs); the caller deletes it
     */
    public SegBenchRun(BenchSettings settings, PrintStream out, Path work) {
        this.s = settings;
        this.out = out;
        this.work = work;
    }

    /** @return the whole result, as written by {@code --json} */
    public ObjectNode run(List<String> command) {
        ObjectNode root = JSON.createObjectNode();
        root.put("schema", SCHEMA);
        root.putPOJO("command", command);
        root.put("utc", Instant.now().truncatedTo(ChronoUnit.SECONDS).toString());
        root.put("config", s.config());
        root.put("mtdl_vs_stdl", NOT_APPLICABLE);
        boolean cpu = Device.parse(s.device()).kind() != Device.Kind.CUDA;
        ObjectNode machine = root.putObject("machine");
        Machine.describe(machine);
        Machine.loadAverage(machine, "load_average_before");
        root.put("patch_forward", "one network call on batch tiles of the config's patch (random input)");
        root.put("sliding_window", "a whole segmentation (nnU-Net's defaults: step 0.5, Gaussian weighting, mirroring"
                + " only on the config's axes, fp16 accumulation, labels only) of a synthetic CT cube of size^3 voxels"
                + " at the network's spacing: preprocessing, every tile and export");
        root.put("flops", "2 x multiply-accumulates of every convolution of the U-Net graph for one patch");
        root.put("memory_measured", "rss_model_peak_bytes = VmHWM at the end minus VmRSS before the model was loaded,"
                + " in a fresh JVM per point; it includes the cube, its preprocessed copy and the logits grid");
        Path file = work.resolve(SegNetworks.PHANTOM_RESOURCE);
        if (s.config().equals("seg-phantom")) {
            SegNetworks.copyPhantom(file);
        }
        ArrayNode peaks = root.putArray("peak");
        ArrayNode points = root.putArray("points");
        List<Integer> edges = s.sizes() != null ? s.sizes() : List.of(DEFAULT_EDGE);
        for (int threads : s.threads()) {
            double peak = Double.NaN;
            double fma = Double.NaN;
            if (cpu) {
                ObjectNode p = WorkerProcess.peak(work, threads);
                peaks.add(p);
                peak = p.get("gflops").asDouble();
                fma = p.get("fma_gflops").asDouble();
                out.printf(Locale.ROOT, "== peak, %d thread(s): conv %.1f GFLOP/s, FMA loop %.1f GFLOP/s%n", threads,
                        peak, fma);
            }
            out.printf("== %s, %d thread(s); MTDL vs STDL: %s%n%s%n", s.config(), threads, NOT_APPLICABLE, header());
            for (int edge : edges) {
                for (int batch : s.batches()) {
                    List<String> args = new ArrayList<>(List.of("seg", s.device(), s.precision(), s.config(),
                            s.config().equals("seg-phantom") ? file.toString() : "-", Integer.toString(batch),
                            Integer.toString(edge), Integer.toString(s.warmup()), Integer.toString(s.runs())));
                    ObjectNode r = WorkerProcess.run(work, "seg-" + threads + "-" + edge + "-" + batch, threads, args);
                    boolean gpu = r.get("device").asText().startsWith("cuda");
                    ObjectNode point = point(r, threads, edge, batch, gpu ? Double.NaN : peak, gpu ? Double.NaN : fma);
                    points.add(point);
                    out.println(row(point));
                }
            }
        }
        Machine.loadAverage(machine, "load_average_after");
        String device = points.get(0).get("device").asText();
        root.put("device", device);
        root.put("precision", device.startsWith("cuda") ? s.precision() : "fp32");
        JsonNode base = points.get(0);
        String sentence = String.format(Locale.ROOT, "On %s with %d thread(s), one %s patch of %s takes %.1f ms (p50,"
                + " %.1f GFLOP/s) and a sliding-window segmentation of a %d^3 cube %.0f ms (p50, %d network calls);"
                + " MTDL vs STDL: not applicable (one network).", device, base.get("threads").asInt(),
                base.get("patch").toString(), s.config(), base.get("patch_forward").get("latency").get("p50_ms").asDouble(),
                base.get("patch_forward").get("achieved_gflops_p50").asDouble(), base.get("size").asInt(),
                base.get("sliding_window").get("latency").get("p50_ms").asDouble(),
                base.get("sliding_window").get("network_calls").asInt());
        root.putObject("headline").put("sentence", sentence);
        out.println(sentence);
        return root;
    }

    private static ObjectNode point(JsonNode r, int threads, int edge, int batch, double peak, double fma) {
        ObjectNode p = JSON.createObjectNode();
        p.put("threads", threads).put("size", edge).put("batch", batch).put("device", r.get("device").asText());
        p.set("patch", r.get("patch"));
        p.set("spacing", r.get("spacing"));
        long flopsPerCall = r.get("flops_per_call").asLong();
        p.put("flops_per_patch", flopsPerCall / batch);
        ObjectNode fwd = p.putObject("patch_forward");
        fwd.put("tiles_per_call", batch);
        Latency lat = latency(r.get("patch_samples_ms"));
        lat.write(fwd.putObject("latency"));
        double gflops = flopsPerCall / (lat.p50() * 1e6);
        fwd.put("achieved_gflops_p50", gflops);
        fraction(fwd, "fraction_of_peak", "peak_gflops", gflops, peak);
        fraction(fwd, "fraction_of_fma_peak", "fma_peak_gflops", gflops, fma);
        ObjectNode sw = p.putObject("sliding_window");
        Latency swLat = latency(r.get("sliding_window_samples_ms"));
        swLat.write(sw.putObject("latency"));
        sw.put("network_calls", r.get("network_calls_per_segmentation").asInt());
        p.put("plan_seconds", r.get("plan_seconds").asDouble());
        ObjectNode planned = p.putObject("memory_planned");
        long weights = r.get("weight_bytes").asLong();
        long act = r.get("activation_bytes").asLong();
        planned.put("weight_bytes", weights);
        planned.put("activation_bytes", act);
        planned.put("total_bytes", weights + act);
        planned.put("not_planned", "the sliding window's own buffers (cube, preprocessed copy, logits grid)");
        ProcStatus.putMeasured(p, r);
        return p;
    }

    private static void fraction(ObjectNode o, String field, String peakField, double gflops, double peak) {
        if (Double.isNaN(peak)) {
            o.putNull(field);
        } else {
            o.put(peakField, peak);
            o.put(field, gflops / peak);
        }
    }

    private static Latency latency(JsonNode raw) {
        double[] samples = new double[raw.size()];
        for (int i = 0; i < samples.length; i++) {
            samples[i] = raw.get(i).asDouble();
        }
        return new Latency(samples);
    }

    private static String header() {
        return String.format(Locale.ROOT, "   %5s %5s %3s %11s %8s %6s %6s %13s %6s %10s %10s", "size", "batch", "n",
                "patch p50", "GFLOP/s", "%conv", "%FMA", "window p50 ms", "calls", "plan MiB", "RSS MiB");
    }

    private static String row(JsonNode p) {
        JsonNode fwd = p.get("patch_forward");
        return String.format(Locale.ROOT, "   %5d %5d %3d %8.1f ms %8.1f %6s %6s %13.0f %6d %10.1f %10.1f",
                p.get("size").asInt(), p.get("batch").asInt(), fwd.get("latency").get("n").asInt(),
                fwd.get("latency").get("p50_ms").asDouble(), fwd.get("achieved_gflops_p50").asDouble(),
                percent(fwd.get("fraction_of_peak")), percent(fwd.get("fraction_of_fma_peak")),
                p.get("sliding_window").get("latency").get("p50_ms").asDouble(),
                p.get("sliding_window").get("network_calls").asInt(),
                p.get("memory_planned").get("total_bytes").asLong() / MIB,
                p.get("memory_measured").get("rss_model_peak_bytes").asLong() / MIB);
    }

    private static String percent(JsonNode fraction) {
        return fraction.isNumber() ? String.format(Locale.ROOT, "%.0f%%", 100 * fraction.asDouble()) : "-";
    }
}
