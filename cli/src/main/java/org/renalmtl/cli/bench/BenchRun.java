package org.renalmtl.cli.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;
import org.renalmtl.engine.Device;
import org.renalmtl.weights.ModelConfig;
import org.renalmtl.weights.WeightFile;

/**
 * {@code renal-mtl bench}: the multi-task model against its single-task counterparts, each model set
 * measured in a fresh process ({@link WorkerProcess}), at the base point and along each scaling axis
 * (size, batch, task count), for each thread count after measuring that thread count's peak. Three sets
 * per point: {@code mtdl}; {@code stdl_separate}, the single-task models as three models (each its own
 * plan and arena) run one after another, as a user would; {@code stdl_shared_arena}, the same networks
 * as one engine model whose plans share one activation arena.
 */
public final class BenchRun {
    /** Version of the JSON layout; bumped when a field changes meaning. */
    public static final String SCHEMA = "renal-mtl-bench/1";
    /** The model sets measured at every point, in the order they run. */
    public static final List<String> VARIANTS = List.of("mtdl", "stdl_separate", "stdl_shared_arena");

    private static final ObjectMapper JSON = new ObjectMapper();
    private final BenchSettings s;
    private final PrintStream out;
    private final Path work;
    private final Map<Integer, Sets> sets = new HashMap<>(); // task count → its seeded (or given) files

    /** The weight files and configs of one task count. */
    private record Sets(ModelConfig mtdl, ModelConfig stdl, Path mtdlFile, Path stdlFile,
            List<Path> singleFiles) {}

    /**
     * @param out progress and tables
     * @param work scratch directory (seeded weight files, worker logs); the caller deletes it
     */
    public BenchRun(BenchSettings settings, PrintStream out, Path work) {
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
        // auto may still land on the CPU: its peak is measured unless a GPU was asked for by name
        boolean cpu = Device.parse(s.device()).kind() != Device.Kind.CUDA;
        ObjectNode machine = root.putObject("machine");
        Machine.describe(machine);
        Machine.loadAverage(machine, "load_average_before");
        root.put("precision_asked", s.precision());
        root.put("stdl_separate", "the single-task models as separate engine models, all loaded, each with its own"
                + " plan and activation arena, forwarded one after another; one sample is the three forwards");
        root.put("stdl_shared_arena", "the same single-task networks as one engine model: their plans share one"
                + " activation arena and scratchpad (the engine runs them one after another)");
        root.put("memory_measured", "rss_model_peak_bytes = VmHWM at the end minus VmRSS before the first model was"
                + " loaded, in a fresh JVM per model set (the JVM's own footprint left out)");
        root.put("flops", "2 x multiply-accumulates of every convolution and Linear of the engine's graph");
        root.put("fraction_of_peak", "achieved GFLOP/s over the oneDNN conv peak (peak[].gflops, the attainable"
                + " rate of the engine's own conv); fraction_of_fma_peak is over the FMA loop's (peak[].fma_gflops,"
                + " the hardware bound as plain vectorised Java reaches it)");
        ArrayNode peaks = root.putArray("peak");
        ArrayNode points = root.putArray("points");
        for (int threads : s.threads()) {
            double peak = Double.NaN;
            double fmaPeak = Double.NaN;
            if (cpu) {
                out.printf("== peak: %d thread(s) (conv: %s; FMA: %s)%n", threads, PeakConv.METHOD, FmaPeak.METHOD);
                ObjectNode p = WorkerProcess.peak(work, threads);
                peaks.add(p);
                peak = p.get("gflops").asDouble();
                fmaPeak = p.get("fma_gflops").asDouble();
                out.printf(Locale.ROOT, "   conv %.1f GFLOP/s (attainable), FMA loop %.1f GFLOP/s (hardware bound)%n",
                        peak, fmaPeak);
            }
            for (int[] point : points()) {
                points.add(point(threads, point[0], point[1], point[2], peak, fmaPeak));
            }
        }
        if (s.compare()) {
            out.println("== peers on the CPU (benchmarks/run-cpu.sh, one JMH run, " + s.threads().getFirst() + " threads)");
            ObjectNode peers = PeerComparison.run(s.threads().getFirst(), out);
            root.set("compare", peers);
            out.println(PeerComparison.summary(peers));
        }
        Machine.loadAverage(machine, "load_average_after");
        String device = points.get(0).get("device").asText();
        root.put("device", device);
        root.put("precision", device.startsWith("cuda") ? s.precision() : "fp32");
        if (device.startsWith("cuda")) {
            root.put("device_memory", "not measured by bench (host RSS only); the GPU's high-water mark and"
                    + " cudaMemGetInfo come from benchmarks/gpu/run.sh");
        }
        ObjectNode headline = BenchText.headline(points.get(0), device);
        root.set("headline", headline);
        out.println(headline.get("sentence").asText());
        return root;
    }

    /** @return the base point, then each list's other values with the rest at their first: {size, batch, tasks} */
    List<int[]> points() {
        int size0 = sizes().getFirst();
        int batch0 = s.batches().getFirst();
        int tasks0 = s.tasks().getFirst();
        LinkedHashSet<List<Integer>> seen = new LinkedHashSet<>();
        seen.add(List.of(size0, batch0, tasks0));
        sizes().forEach(v -> seen.add(List.of(v, batch0, tasks0)));
        s.batches().forEach(v -> seen.add(List.of(size0, v, tasks0)));
        s.tasks().forEach(v -> seen.add(List.of(size0, batch0, v)));
        return seen.stream().map(l -> l.stream().mapToInt(Integer::intValue).toArray()).toList();
    }

    private List<Integer> sizes() {
        return s.sizes() != null ? s.sizes() : List.of(sets(s.tasks().getFirst()).mtdl().input().size()[0]);
    }

    private ObjectNode point(int threads, int size, int batch, int tasks, double peakGflops, double fmaGflops) {
        Sets set = sets(tasks);
        int[] dhw = {size, size, size};
        ObjectNode p = JSON.createObjectNode();
        p.put("threads", threads).put("size", size).put("batch", batch).put("tasks", tasks);
        p.put("config", set.mtdl().name());
        ObjectNode variants = p.putObject("variants");
        out.printf("== %d thread(s), %d^3, batch %d, %d tasks%n%s%n", threads, size, batch, tasks, BenchText.header());
        for (String v : VARIANTS) {
            List<Path> files = switch (v) {
                case "mtdl" -> List.of(set.mtdlFile());
                case "stdl_separate" -> set.singleFiles();
                default -> List.of(set.stdlFile());
            };
            ModelConfig config = v.equals("mtdl") ? set.mtdl() : set.stdl();
            List<String> args = new ArrayList<>(List.of("models", s.device(), s.precision(), Integer.toString(batch),
                    Integer.toString(size), Integer.toString(size), Integer.toString(size), Integer.toString(s.warmup()),
                    Integer.toString(s.runs())));
            files.forEach(f -> args.add(f.toString()));
            ObjectNode r = WorkerProcess.run(work, v + "-" + threads + "-" + size + "-" + batch + "-" + tasks, threads, args);
            p.put("device", r.get("device").asText());
            // the CPU's peak says nothing about a GPU's forward
            boolean gpu = r.get("device").asText().startsWith("cuda");
            variants.set(v, VariantResult.of(r, config, batch, dhw, gpu ? Double.NaN : peakGflops,
                    gpu ? Double.NaN : fmaGflops));
            out.println(BenchText.row(v, variants.get(v)));
        }
        return p;
    }

    private Sets sets(int tasks) {
        return sets.computeIfAbsent(tasks, t -> {
            ModelConfig mtdl;
            Path mtdlFile;
            if (s.model() != null) {
                try (WeightFile wf = WeightFile.load(s.model())) {
                    mtdl = wf.config();
                }
                mtdlFile = s.model();
            } else {
                mtdl = BenchModels.mtdl(s.config(), t);
                mtdlFile = work.resolve("mtdl-" + t + ".h5");
                out.printf("== writing seeded %s%n", mtdl.name());
                BenchModels.writeSeeded(mtdl, 0, mtdlFile);
            }
            ModelConfig stdl = BenchModels.stdlFor(mtdl);
            Path stdlFile = work.resolve("stdl-" + t + ".h5");
            out.printf("== writing seeded %s%n", stdl.name());
            BenchModels.writeSeeded(stdl, 1, stdlFile);
            List<ModelConfig> singles = BenchModels.singles(stdl);
            List<Path> singleFiles = new ArrayList<>();
            for (int i = 0; i < singles.size(); i++) {
                Path f = work.resolve("stdl-" + t + "-" + i + ".h5");
                BenchModels.writeSeeded(singles.get(i), 2 + i, f);
                singleFiles.add(f);
            }
            return new Sets(mtdl, stdl, mtdlFile, stdlFile, singleFiles);
        });
    }

    /** Deletes the work directory's files (seeded weights run to gigabytes). */
    public static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    /** @return the variant results of a point, for the text and plots */
    static JsonNode variant(JsonNode point, String name) {
        return point.get("variants").get(name);
    }
}
