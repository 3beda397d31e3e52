package org.renalmtl.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.renalmtl.cli.bench.BenchPlots;
import org.renalmtl.cli.bench.BenchRun;
import org.renalmtl.cli.bench.BenchSettings;
import org.renalmtl.cli.bench.SegBenchRun;
import org.renalmtl.engine.Precision;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code renal-mtl bench}: the paper's engineering comparison on this machine — the multi-task model
 * against its single-task counterparts — with latency percentiles and raw samples, throughput, planned
 * and measured memory, FLOPs against the measured peak, scaling over size, batch and task count, and
 * the machine it ran on. The measuring is {@link BenchRun}'s; this class only reads the options.
 */
@Command(name = "bench", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Multi-task vs single-task models: latency (p50/p90/min, raw samples), throughput, planned and"
                + " measured memory, FLOPs against the machine's measured peak, scaling tables and plots.",
            "Each model set runs in a fresh JVM, so its peak RSS is its own. Seeded weights unless --model is given.",
            "On a GPU, the PyTorch bar and per-kernel table: benchmarks/gpu/run.sh."})
final class BenchCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Spec
    CommandSpec spec;

    @Option(names = "--config", defaultValue = "r18-3p-96", paramLabel = "NAME",
            description = {"r18-3p-96, r10, r34, r50 or early-fusion, seeded weights (default: ${DEFAULT-VALUE});",
                "seg-phantom (the built-in phantom nnU-Net) or seg-nnunet-default (nnU-Net's default 3d_fullres"
                        + " U-Net, seeded): patch forward and sliding-window segmentation, no MTDL/STDL comparison."})
    String config;

    @Option(names = {"--model", "--mtdl"}, paramLabel = "M.h5",
            description = "A multi-task weight file instead (its single-task counterparts get seeded weights).")
    Path model;

    @Mixin
    DeviceOption device;

    @Option(names = "--precision", defaultValue = "tf32", paramLabel = "P",
            description = "GPU arithmetic: fp32, tf32 or fp16 (the CPU computes in fp32). Default: ${DEFAULT-VALUE}.")
    String precision;

    @Option(names = "--threads", split = ",", paramLabel = "N[,N...]",
            description = "oneDNN threads (OMP_NUM_THREADS of each measuring JVM); default: all logical CPUs.")
    List<Integer> threads;

    @Option(names = "--batch", split = ",", defaultValue = "1", paramLabel = "N[,N...]",
            description = "Cases per forward; for seg-…, tiles per network call (default: ${DEFAULT-VALUE}).")
    List<Integer> batches;

    @Option(names = "--sizes", split = ",", paramLabel = "S[,S...]",
            description = "Input edge in voxels, S^3 per phase (default: the config's, 96); for seg-…, the synthetic"
                    + " cube segmented (default: 160).")
    List<Integer> sizes;

    @Option(names = "--tasks", split = ",", defaultValue = "3", paramLabel = "T[,T...]",
            description = "Task counts (default: ${DEFAULT-VALUE}).")
    List<Integer> tasks;

    @Option(names = "--runs", defaultValue = "20", description = "Timed forwards per point (${DEFAULT-VALUE};"
            + " p90 needs 20).")
    int runs;

    @Option(names = "--warmup", defaultValue = "2", description = "Untimed forwards first (${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--json", paramLabel = "FILE", description = "Write the results, raw samples included, as JSON.")
    Path json;

    @Option(names = "--plot", paramLabel = "DIR", description = "Write scaling plots (PNG and SVG) into DIR.")
    Path plot;

    @Option(names = "--compare", description = "Also time ONNX Runtime and libtorch on the same weights"
            + " (benchmarks/run-cpu.sh) and report the ratios.")
    boolean compare;

    @Override
    public Integer call() throws Exception {
        device.parse(); // a bad --device is refused here, before any work
        try {
            Precision.parse(precision);
        } catch (IllegalArgumentException e) {
            throw new InputException("--precision: " + e.getMessage());
        }
        BenchSettings settings = new BenchSettings(config, model, device.device, precision,
                threads != null ? threads : List.of(Runtime.getRuntime().availableProcessors()), batches, sizes, tasks, runs,
                warmup, json, plot, compare);
        if (json != null) {
            AtomicFiles.checkWritable(json);
        }
        if (plot != null && Files.exists(plot) && !Files.isDirectory(plot)) {
            throw new InputException(plot + ": --plot needs a directory");
        }
        Path work = Files.createTempDirectory("renal-mtl-bench");
        try {
            ObjectNode result = settings.segmentation()
                    ? new SegBenchRun(settings, System.out, work).run(commandLine())
                    : new BenchRun(settings, System.out, work).run(commandLine());
            if (plot != null) {
                Files.createDirectories(plot);
                BenchPlots.write(result, plot);
                System.out.println("== plots in " + plot);
            }
            if (json != null) {
                AtomicFiles.writeString(json, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(result));
            }
        } finally {
            BenchRun.deleteTree(work);
        }
        return 0;
    }

    private List<String> commandLine() {
        List<String> args = new ArrayList<>(List.of("renal-mtl")); // the original arguments start with "bench"
        args.addAll(spec.commandLine().getParseResult().originalArgs());
        return args;
    }
}
