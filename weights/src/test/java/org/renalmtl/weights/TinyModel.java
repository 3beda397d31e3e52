package org.renalmtl.weights;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.renalmtl.weights.hdf5.Hdf5File;

/**
 * A small but complete MTDL model for format tests: ResNet-10 with narrow widths over three 16³
 * phases and a PLE head, so a valid file is written in milliseconds yet has ~80 tensors of every
 * kind (conv, BatchNorm, downsample, experts, gates, towers).
 */
final class TinyModel {
    private TinyModel() {}

    /** The config with fusion, depth and the tasks of the network substituted. */
    static String config(String fusion, int depth, String networkTasks, int formatVersion) {
        return """
                {"format": "renal-mtl-weights", "format_version": %d, "producer": "TinyModel test", "name": "tiny",
                 "phases": ["arterial", "venous", "delayed"],
                 "tasks": [
                   {"name": "ccrcc", "positive": "ccRCC", "negative": "other", "threshold": 0.5},
                   {"name": "stage", "positive": "III/IV", "negative": "I/II", "threshold": 0.5},
                   {"name": "renal", "positive": "high", "negative": "low", "threshold": 0.5}],
                 "input": {"size": [16, 16, 16], "spacing_mm": [1.0, 1.0, 1.0], "margin_mm": 10.0},
                 "preprocessing": {"hu_window": [-200.0, 300.0], "normalisation": "zscore", "mean": 60.0, "std": 80.0},
                 "networks": [{"name": "mtdl", "prefix": "", "tasks": %s, "fusion": "%s",
                   "backbone": {"type": "resnet3d", "depth": %d, "flavour": "hara", "in_channels": 1,
                     "widths": [4, 8, 8, 8],
                     "stem": {"kernel": [3, 3, 3], "stride": [2, 2, 2], "padding": [1, 1, 1], "max_pool": true},
                     "strides": [1, 2, 2, 2], "dilations": [1, 1, 1, 1], "shortcut": "B", "downsample_bias": false},
                   "head": {"type": "ple", "levels": 2, "task_experts": 2, "shared_experts": 1, "expert_hidden": [8],
                     "expert_bn": false, "gate": {"hidden": [], "bias": true, "bn": false},
                     "tower": {"hidden": [4], "bn": false, "bias": true}}}]}
                """.formatted(formatVersion, networkTasks, fusion, depth);
    }

    /** The valid config. */
    static String config() {
        return config("batch", 10, "[\"ccrcc\", \"stage\", \"renal\"]", 1);
    }

    /** Seeded tensors for the valid config, in {@link TensorLayout} order. */
    static Map<String, Tensor> tensors(Arena arena, long seed) {
        return SeededWeights.generate(ConfigParser.parse(config(), Path.of("tiny")), seed, arena);
    }

    /** Writes a file with exactly this attribute (or none if null) and these datasets. */
    static void writeRaw(Path file, String configJson, Iterable<Tensor> tensors) {
        try (Hdf5File h5 = Hdf5File.create(file)) {
            if (configJson != null) {
                h5.writeStringAttribute(WeightFile.CONFIG_ATTRIBUTE, configJson);
            }
            for (Tensor t : tensors) {
                h5.writeFloats(t.name(), t.shape(), t.data());
            }
        }
    }

    /** A valid tiny weight file written by {@link WeightWriter}. */
    static void writeValid(Path file, long seed) {
        try (Arena arena = Arena.ofConfined()) {
            WeightWriter.write(file, config(), tensors(arena, seed));
        }
    }

    /** A zero-filled tensor of this shape. */
    static Tensor zeros(Arena arena, String name, long... shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        MemorySegment seg = arena.allocate(n * Float.BYTES, 64);
        return new Tensor(name, shape, seg);
    }

    /** A copy of {@code t} with element {@code i} replaced. */
    static Tensor withValue(Arena arena, Tensor t, long i, float v) {
        MemorySegment seg = arena.allocate(t.elements() * Float.BYTES, 64);
        seg.copyFrom(t.data().asSlice(0, t.elements() * Float.BYTES));
        seg.setAtIndex(ValueLayout.JAVA_FLOAT, i, v);
        return new Tensor(t.name(), t.shape(), seg);
    }

    /**
     * Runs {@code src/test/resources/make_bad_files.py} with /usr/bin/python3 (h5py; present wherever
     * the build runs, see run-tests) and fails the test with its output if it fails.
     */
    static void python(String... args) {
        script("/make_bad_files.py", args);
    }

    /**
     * Runs a Python script of the test resources with /usr/bin/python3 and returns its standard output;
     * fails the test with its output if it fails or runs past two minutes.
     */
    static String script(String resource, String... args) {
        Path script;
        try {
            script = Path.of(TinyModel.class.getResource(resource).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
        List<String> cmd = new ArrayList<>(List.of("/usr/bin/python3", script.toString()));
        cmd.addAll(List.of(args));
        try {
            Path out = Files.createTempFile("script", ".out");
            try {
                Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile()).start();
                boolean done = p.waitFor(120, TimeUnit.SECONDS);
                if (!done) {
                    p.destroyForcibly();
                }
                String text = Files.readString(out);
                if (!done || p.exitValue() != 0) {
                    throw new AssertionError(resource + " " + String.join(" ", args) + " failed:\n" + text);
                }
                return text;
            } finally {
                Files.deleteIfExists(out);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
