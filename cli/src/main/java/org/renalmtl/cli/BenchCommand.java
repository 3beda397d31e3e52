package org.renalmtl.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.renalmtl.engine.BuiltinModels;
import org.renalmtl.engine.Model;
import org.renalmtl.engine.PlanMemory;
import org.renalmtl.pipeline.EngineVersion;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code renal-mtl bench}: the paper's engineering comparison on this machine — the multi-task
 * model (one backbone, PLE head) against the three single-task models run one after another, as
 * a user would — with latency percentiles and the memory each plan holds. Defaults to the
 * built-in R18-3P-96 models; {@code --mtdl}/{@code --stdl} take weight files.
 */
@Command(name = "bench", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Latency (p50/p90) and planned memory of the multi-task model vs the single-task models.",
            "For libtorch/ONNX Runtime comparisons see benchmarks/run-cpu.sh; on a GPU, benchmarks/gpu/run.sh."})
final class BenchCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Option(names = "--mtdl", paramLabel = "M.h5", description = "Multi-task weight file (default: built-in R18-3P-96 MTDL).")
    Path mtdl;

    @Option(names = "--stdl", paramLabel = "S.h5", description = "Single-task weight file (default: built-in R18-3P-96 STDL).")
    Path stdl;

    @Option(names = "--batch", split = ",", defaultValue = "1", paramLabel = "N[,N...]",
            description = "Cases per forward (default: ${DEFAULT-VALUE}).")
    List<Integer> batches;

    @Option(names = "--runs", defaultValue = "10", description = "Timed forwards per model and batch (${DEFAULT-VALUE}).")
    int runs;

    @Option(names = "--warmup", defaultValue = "2", description = "Untimed forwards first (${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--json", paramLabel = "FILE", description = "Also write the results as JSON.")
    Path json;

    @Mixin
    DeviceOption device;

    @Override
    public Integer call() throws Exception {
        if (runs < 1 || warmup < 0 || batches.stream().anyMatch(b -> b < 1)) {
            throw new InputException("--runs must be >= 1, --warmup >= 0 and every --batch >= 1");
        }
        if (json != null) {
            AtomicFiles.checkWritable(json);
        }
        ObjectNode out = JSON.createObjectNode();
        out.put("engine", "renal-mtl " + EngineVersion.VERSION);
        out.put("cores", Runtime.getRuntime().availableProcessors());
        ArrayNode rows = out.putArray("results");
        System.out.printf("%-6s %5s %10s %10s %12s %12s %12s%n", "model", "batch", "p50 ms", "p90 ms", "weights MiB",
                "arena MiB", "scratch MiB");
        double[][] summary = new double[2][];
        int k = 0;
        for (BuiltinModels.Kind kind : BuiltinModels.Kind.values()) {
            Path file = kind == BuiltinModels.Kind.MTDL ? mtdl : stdl;
            try (Model model = file != null ? Model.load(file, device.parse()) : BuiltinModels.create(kind, 0, device.parse())) {
                out.put("device", model.device().toString());
                for (int batch : batches) {
                    double[] r = measure(model, batch);
                    PlanMemory plan = model.plan(batch, model.inputSize());
                    System.out.printf(Locale.ROOT, "%-6s %5d %10.1f %10.1f %12.1f %12.1f %12.1f%n", kind, batch, r[0], r[1],
                            mib(plan.weightBytes()), mib(plan.activationBytes()), mib(plan.scratchBytes()));
                    ObjectNode row = rows.addObject();
                    row.put("model", kind.name().toLowerCase(Locale.ROOT));
                    row.put("file", file == null ? "builtin" : file.toString());
                    row.put("batch", batch);
                    row.put("p50_ms", r[0]);
                    row.put("p90_ms", r[1]);
                    row.put("weight_bytes", plan.weightBytes());
                    row.put("activation_bytes", plan.activationBytes());
                    row.put("activation_lower_bound_bytes", plan.activationLowerBound());
                    row.put("scratch_bytes", plan.scratchBytes());
                    if (batch == batches.get(0)) {
                        summary[k] = new double[] {r[0], plan.weightBytes() + plan.activationBytes() + plan.scratchBytes()};
                    }
                }
            }
            k++;
        }
        double faster = 1 - summary[0][0] / summary[1][0];
        double lessMemory = 1 - summary[0][1] / summary[1][1];
        System.out.printf(Locale.ROOT, "MTDL vs three STDL (batch %d): %.0f%% less time, %.0f%% less planned memory"
                + " (paper: 60%% faster, 68%% less memory, on a GPU)%n", batches.get(0), 100 * faster, 100 * lessMemory);
        out.put("mtdl_time_saving", faster);
        out.put("mtdl_memory_saving", lessMemory);
        if (json != null) {
            AtomicFiles.writeString(json, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(out));
        }
        return 0;
    }

    /** @return {p50, p90} in ms of warm forwards */
    private double[] measure(Model model, int batch) {
        double[] t = ForwardTimer.time(model, batch, warmup, runs);
        return new double[] {ForwardTimer.percentile(t, 0.5), ForwardTimer.percentile(t, 0.9)};
    }

    private static double mib(long bytes) {
        return bytes / 1048576.0;
    }
}
