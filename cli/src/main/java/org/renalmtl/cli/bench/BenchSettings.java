package org.renalmtl.cli.bench;

import java.nio.file.Path;
import java.util.List;
import org.renalmtl.cli.InputException;

/**
 * What {@code renal-mtl bench} was asked to measure, checked. The first value of each list is the base
 * point; the scaling tables vary one list at a time from it.
 *
 * @param config built-in config name ({@link BenchModels#CONFIGS}, or a segmentation network's,
 *     {@link SegNetworks#CONFIGS}), ignored with {@code model}
 * @param model the multi-task weight file, or null for seeded weights of {@code config}
 * @param device {@code auto|cpu|cuda[:N]}
 * @param precision GPU arithmetic (fp32, tf32, fp16); the CPU computes in fp32
 * @param threads oneDNN/OpenMP threads, one measurement set per value
 * @param batches cases per forward; for a segmentation network, tiles per network call
 * @param sizes edge of the cubic input, voxels (null: the config's size); for a segmentation network the
 *     synthetic cube the sliding window segments
 * @param tasks task counts (seeded classifier configs only)
 * @param runs timed forwards per point
 * @param warmup untimed forwards first
 * @param json JSON output, or null
 * @param plots plot directory, or null
 * @param compare whether to time ONNX Runtime and libtorch too
 */
public record BenchSettings(String config, Path model, String device, String precision, List<Integer> threads,
        List<Integer> batches, List<Integer> sizes, List<Integer> tasks, int runs, int warmup, Path json, Path plots,
        boolean compare) {

    /** Checks every option; a bad one is one line naming it. */
    public BenchSettings {
        if (model == null && SegNetworks.isSeg(config)) {
            segmentation(tasks, plots);
        } else if (model == null) {
            BenchModels.check(config);
        } else if (SegNetworks.isSeg(config)) {
            throw new InputException("--model with --config " + config + ": bench measures the built-in segmentation"
                    + " networks only");
        } else if (tasks.size() != 1 || tasks.getFirst() != 3) {
            throw new InputException("--tasks needs a built-in --config: a --model file fixes its own tasks");
        }
        positive("--threads", threads, 1024);
        positive("--batch", batches, 4096);
        positive("--tasks", tasks, 16);
        if (sizes != null) {
            positive("--sizes", sizes, 1024);
            for (int s : sizes) {
                if (s < 32) {
                    throw new InputException("--sizes " + s + ": must be at least 32 (the backbone strides by 32)");
                }
            }
        }
        if (runs < 1 || warmup < 0) {
            throw new InputException("--runs must be >= 1 and --warmup >= 0");
        }
        if (compare && (model != null || !config.equals("r18-3p-96"))) {
            throw new InputException("--compare times the peers on run-cpu.sh's seeded R18-3P-96: use --config r18-3p-96"
                    + " without --model");
        }
        if (compare && device.startsWith("cuda")) {
            throw new InputException("--compare times the CPU peers; on a GPU the PyTorch bar is benchmarks/gpu/run.sh's");
        }
        if (compare) {
            PeerComparison.script();
        }
        threads = List.copyOf(threads);
        batches = List.copyOf(batches);
        sizes = sizes == null ? null : List.copyOf(sizes);
        tasks = List.copyOf(tasks);
    }

    /** @return whether this run measures a segmentation network rather than multi- and single-task models */
    public boolean segmentation() {
        return SegNetworks.isSeg(config);
    }

    private static void segmentation(List<Integer> tasks, Path plots) {
        if (tasks.size() != 1 || tasks.getFirst() != 3) {
            throw new InputException("--tasks: the segmentation network has no task heads");
        }
        if (plots != null) {
            throw new InputException("--plot: the scaling plots are drawn for the classifier configs; the segmentation"
                    + " bench prints its table and writes --json");
        }
    }

    private static void positive(String option, List<Integer> values, int max) {
        if (values.isEmpty()) {
            throw new InputException(option + " needs at least one value");
        }
        for (int v : values) {
            if (v < 1 || v > max) {
                throw new InputException(option + " " + v + ": must be 1 to " + max);
            }
        }
    }
}
