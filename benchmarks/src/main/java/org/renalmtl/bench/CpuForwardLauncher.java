package org.renalmtl.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.CommandLineOptionException;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.OptionsBuilder;

/**
 * Runs {@link CpuForwardBenchmark}: checks once, outside any timing, that the selected backends
 * compute the same probabilities on the benchmark's input, and that renal-mtl's fused backbone
 * features (the current engine's and the baseline's) equal libtorch's backbone-only copy's (a
 * mismatch stops the run with exit code 1), then runs them in one JMH run and prints time per forward
 * and the ratios renal-mtl / baseline, renal-mtl / libtorch (plain and frozen +
 * optimize_for_inference) and renal-mtl / onnxruntime.
 *
 * <p>Arguments are JMH's own ({@code -f 1 -wi 3 -i 5 -rf json -rff out.json}, include regexps to
 * select backends, {@code -p model=M.h5 -p peers=DIR -p threads=N -p seed=S -p baseline=DIR}). Without
 * {@code -p baseline} the baseline backend is skipped, with a note, even where a pattern selects it.
 * Exit codes: 0 done, 1 backends disagree or JMH failed, 2 bad arguments or missing/stale model files.
 */
public final class CpuForwardLauncher {
    /** Backends in table order; each is a {@link CpuForwardBenchmark} method of the same name. */
    static final List<String> BACKENDS = List.of(RatioTable.RENAL_MTL, RenalMtlBaselineForward.NAME, "libtorch",
            "libtorchOptimized", "onnxRuntime");

    /** Where run-cpu.sh puts the model, relative to the repository root or to benchmarks/. */
    static final List<String> DEFAULT_MODELS = List.of("benchmarks/target/model/r18-3p-96-mtdl.h5",
            "target/model/r18-3p-96-mtdl.h5");

    private CpuForwardLauncher() {}

    /**
     * @param args JMH command-line options
     */
    public static void main(String[] args) {
        int code;
        try {
            code = run(args, System.out);
        } catch (BenchmarkSetupException e) {
            System.err.println("cpu-benchmark: error: " + e.getMessage());
            code = 2;
        }
        System.exit(code);
    }

    /**
     * Opens one backend by its benchmark name.
     *
     * @param name renalMtl, renalMtlBaseline, libtorch, libtorchOptimized or onnxRuntime
     * @param files the model and its peers
     * @param threads intra-op threads
     * @param baseline the baseline's directory of jars, read by renalMtlBaseline only ("" = none)
     */
    static ForwardBackend open(String name, PeerModels files, int threads, String baseline) {
        return switch (name) {
            case RatioTable.RENAL_MTL -> new RenalMtlForward(files.weights(), threads);
            case RenalMtlBaselineForward.NAME -> new RenalMtlBaselineForward(baseline, files.weights(), threads);
            case "libtorch", "libtorchOptimized" -> new LibtorchForward(files.torchScript(), files.inputShape(),
                    (long) files.cases() * files.tasks(), threads, name.equals("libtorchOptimized"));
            case "onnxRuntime" -> new OnnxRuntimeForward(files.onnx(), files.inputName(), files.inputShape(),
                    files.tasks(), threads);
            default -> throw new IllegalArgumentException("unknown backend " + name);
        };
    }

    static int run(String[] args, PrintStream out) {
        CommandLineOptions cli;
        try {
            cli = new CommandLineOptions(args);
        } catch (CommandLineOptionException e) {
            throw new BenchmarkSetupException("bad JMH option: " + e.getMessage());
        }
        if (cli.shouldHelp()) {
            try {
                cli.showHelp();
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
            return 0;
        }
        Path weights = Path.of(single(cli, "model").orElseGet(CpuForwardLauncher::defaultModel)).toAbsolutePath()
                .normalize();
        Path peers = single(cli, "peers").filter(s -> !s.isEmpty()).map(Path::of).orElse(weights.getParent())
                .toAbsolutePath().normalize();
        int threads = integer(cli, "threads").filter(n -> n > 0)
                .orElse(Runtime.getRuntime().availableProcessors());
        long seed = integer(cli, "seed").orElse(42);
        Optional<Path> baseline = single(cli, "baseline").filter(s -> !s.isBlank())
                .map(s -> Path.of(s).toAbsolutePath().normalize());
        PeerModels files = PeerModels.open(weights, peers);
        baseline.ifPresent(BaselineClassLoader::jars);

        List<String> includes = cli.getIncludes().isEmpty()
                ? List.of("^" + Pattern.quote(CpuForwardBenchmark.class.getName()) + "\\.")
                : cli.getIncludes();
        List<String> selected = BACKENDS.stream()
                .filter(b -> matches(includes, b) && !matches(cli.getExcludes(), b)).toList();
        if (baseline.isEmpty() && selected.contains(RenalMtlBaselineForward.NAME)) {
            out.println("# " + RenalMtlBaselineForward.NAME + " skipped: no -p baseline=DIR (a directory of another"
                    + " commit's engine and weights jars; run-cpu.sh --baseline COMMIT builds one)");
            selected = selected.stream().filter(b -> !b.equals(RenalMtlBaselineForward.NAME)).toList();
        }
        if (selected.isEmpty()) {
            throw new BenchmarkSetupException("the include/exclude patterns select none of " + BACKENDS);
        }

        out.println("# machine: " + cpuModel() + ", " + Runtime.getRuntime().availableProcessors()
                + " processors; Java " + Runtime.version());
        out.println("# model " + files.weights() + ", input " + Arrays.toString(files.inputShape())
                + " seed " + seed + ", " + threads + " intra-op threads per backend");
        out.println("# peers " + files.torchScript() + ", " + files.onnx());
        baseline.ifPresent(b -> out.println("# baseline engine from " + b));
        String baselineDir = baseline.map(Path::toString).orElse("");
        List<Agreement> checks = check(selected, files, threads, seed, baselineDir, out);
        out.println("# agreement on the benchmark input (outside timing):");
        for (Agreement a : checks) {
            out.println(a.report());
        }
        for (Agreement a : checks) {
            if (!a.agrees()) {
                System.err.println("cpu-benchmark: error: the backends' " + a.what() + " differ by " + a.worst()
                        + " > " + a.tolerance() + "; they do not compute the same model, no timing done");
                return 1;
            }
        }

        ChainedOptionsBuilder options = new OptionsBuilder().parent(cli)
                .param("model", files.weights().toString())
                .param("peers", peers.toString())
                .param("threads", Integer.toString(threads))
                .param("seed", Long.toString(seed));
        baseline.ifPresent(b -> options.param("baseline", b.toString()));
        for (String b : selected) {
            options.include("^" + Pattern.quote(CpuForwardBenchmark.class.getName() + "." + b) + "$");
        }
        Collection<RunResult> results;
        try {
            results = new Runner(options.build()).run();
        } catch (RunnerException e) {
            System.err.println("cpu-benchmark: error: JMH failed: " + e.getMessage());
            return 1;
        }
        List<RatioTable.Row> rows = new ArrayList<>();
        for (String b : BACKENDS) {
            results.stream().filter(r -> r.getParams().getBenchmark().endsWith("." + b)).findFirst()
                    .map(RunResult::getPrimaryResult)
                    .ifPresent(r -> rows.add(new RatioTable.Row(b, r.getStatistics().getPercentile(50),
                            r.getStatistics().getMean(), r.getScoreError(), r.getStatistics().getMin(),
                            r.getStatistics().getN(), r.getScoreUnit())));
        }
        out.println();
        out.println("# R18-3P-96 forward on the CPU, " + threads + " threads (lower is better)");
        out.println(new RatioTable(rows, baseline.map(RenalMtlBaselineForward::label).orElse("")).format());
        return rows.size() == selected.size() ? 0 : 1;
    }

    /**
     * Runs each selected backend once on the seeded input, one at a time, and compares their
     * probabilities; where renal-mtl (current or baseline) ran and the backbone-only copy exists, also
     * compares its fused features with libtorch's backbone output on the same input.
     */
    private static List<Agreement> check(List<String> selected, PeerModels files, int threads, long seed,
            String baseline, PrintStream out) {
        List<float[]> outputs = new ArrayList<>();
        List<Agreement> checks = new ArrayList<>();
        try (SeededInput input = new SeededInput(files.inputElements(), seed); Arena arena = Arena.ofConfined()) {
            MemorySegment probabilities = arena.allocate(ValueLayout.JAVA_FLOAT, (long) files.cases() * files.tasks());
            List<String> engines = new ArrayList<>();
            List<float[]> features = new ArrayList<>();
            for (String name : selected) {
                try (ForwardBackend backend = open(name, files, threads, baseline)) {
                    out.println("# " + backend.describe());
                    long start = System.nanoTime();
                    backend.forward(input.values(), files.cases(), probabilities);
                    out.printf(Locale.ROOT, "#   first forward %.0f ms (untimed check)%n",
                            (System.nanoTime() - start) / 1e6);
                    outputs.add(probabilities.toArray(ValueLayout.JAVA_FLOAT));
                    backend.lastFeatures().ifPresent(f -> {
                        engines.add(name);
                        features.add(f);
                    });
                }
            }
            checks.add(new Agreement("probabilities", Agreement.PROBABILITY_TOLERANCE, selected, outputs));
            if (!features.isEmpty() && files.featurePeer().isPresent()) {
                PeerModels.Backbone peer = files.featurePeer().get();
                MemorySegment theirs = arena.allocate(ValueLayout.JAVA_FLOAT, peer.features());
                try (LibtorchForward backbone = new LibtorchForward(peer.torchScript(), peer.inputShape(),
                        peer.features(), threads, false)) {
                    backbone.run(input.values(), theirs);
                }
                engines.add("libtorch backbone");
                features.add(theirs.toArray(ValueLayout.JAVA_FLOAT));
                checks.add(new Agreement("backbone features", Agreement.FEATURE_TOLERANCE, engines, features));
            } else if (!features.isEmpty()) {
                out.println("# backbone features not compared: no " + PeerModels.BACKBONE_DIR + "/"
                        + PeerModels.DESCRIPTION + " beside the peers (export_peers.py --backbone-only)");
            }
        }
        return checks;
    }

    private static boolean matches(List<String> patterns, String backend) {
        String name = CpuForwardBenchmark.class.getName() + "." + backend;
        return patterns.stream().anyMatch(p -> Pattern.compile(p).matcher(name).find());
    }

    private static Optional<String> single(CommandLineOptions cli, String param) {
        org.openjdk.jmh.util.Optional<Collection<String>> values = cli.getParameter(param);
        if (!values.hasValue()) {
            return Optional.empty();
        }
        if (values.get().size() != 1) {
            throw new BenchmarkSetupException("-p " + param + " takes one value, got " + values.get());
        }
        return Optional.of(values.get().iterator().next());
    }

    private static Optional<Integer> integer(CommandLineOptions cli, String param) {
        return single(cli, param).map(v -> {
            try {
                return Integer.parseInt(v.trim());
            } catch (NumberFormatException e) {
                throw new BenchmarkSetupException("-p " + param + "=" + v + ": not an integer");
            }
        });
    }

    private static String defaultModel() {
        return DEFAULT_MODELS.stream().filter(p -> Files.isRegularFile(Path.of(p))).findFirst()
                .orElseThrow(() -> new BenchmarkSetupException(DEFAULT_MODELS.get(0)
                        + ": no model (run benchmarks/run-cpu.sh, or pass -p model=M.h5)"));
    }

    private static String cpuModel() {
        try (Stream<String> lines = Files.lines(Path.of("/proc/cpuinfo"))) {
            List<String> info = lines.toList();
            String model = info.stream().filter(l -> l.startsWith("model name")).findFirst()
                    .map(l -> l.substring(l.indexOf(':') + 1).strip()).orElse("unknown CPU");
            String flags = info.stream().filter(l -> l.startsWith("flags")).findFirst().orElse("");
            return model + (flags.contains(" avx512f") ? " (AVX-512)" : flags.contains(" avx2") ? " (AVX2)" : "");
        } catch (IOException e) {
            return "unknown CPU";
        }
    }
}
