package org.renalmtl.engine.cuda;

import static org.bytedeco.cuda.global.cudart.cudaMemcpy;
import static org.bytedeco.cuda.global.cudart.cudaMemcpyDeviceToHost;
import static org.bytedeco.cuda.global.cudart.cudaMemcpyHostToDevice;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.renalmtl.weights.ConfigParser;
import org.renalmtl.weights.ModelConfig;

/** Small seeded configs and host/device helpers shared by the CUDA tests. */
final class GpuFixtures {
    private GpuFixtures() {}

    /**
     * Two networks in one model, covering what the backend distinguishes: an MTDL network with
     * batch fusion, a 7³ stem, max-pool, shortcut B (IDENTITY convs), a 2-level PLE head with
     * folded expert BatchNorm and gate hidden layers; a single-task network with separate fusion
     * (three backbones), a 3³ stem without max-pool, shortcut A (our kernel) and an MLP head.
     * Odd input size (20, 18, 16) so no axis divides evenly. Written by
     * {@code weights/export/renal_mtl/config.py}.
     */
    static final String TWO_NETWORKS = """
            {"format": "renal-mtl-weights", "format_version": 1, "producer": "renal-mtl export.py (torch 1.13)",
             "name": "cuda-test", "phases": ["arterial", "venous", "delayed"],
             "tasks": [{"name": "ccrcc", "positive": "clear-cell RCC", "negative": "other histology", "threshold": 0.5},
                       {"name": "stage", "positive": "stage III/IV", "negative": "stage I/II", "threshold": 0.5},
                       {"name": "renal", "positive": "high R.E.N.A.L. complexity", "negative": "low-intermediate", "threshold": 0.5}],
             "input": {"size": [20, 18, 16], "spacing_mm": [1.0, 1.0, 1.0], "margin_mm": 10.0},
             "preprocessing": {"hu_window": [-200.0, 300.0], "normalisation": "zscore", "mean": 60.0, "std": 80.0},
             "networks": [
              {"name": "mtdl", "prefix": "mt.", "tasks": ["ccrcc", "stage"], "fusion": "batch",
               "backbone": {"type": "resnet3d", "depth": 10, "flavour": "hara", "in_channels": 1, "widths": [8, 16, 16, 24],
                            "stem": {"kernel": [7, 7, 7], "stride": [2, 2, 2], "padding": [3, 3, 3], "max_pool": true},
                            "strides": [1, 2, 2, 2], "dilations": [1, 1, 1, 1], "shortcut": "B", "downsample_bias": false},
               "head": {"type": "ple", "levels": 2, "task_experts": 1, "shared_experts": 2, "expert_hidden": [32, 16],
                        "expert_bn": true, "gate": {"hidden": [8], "bias": true, "bn": false},
                        "tower": {"hidden": [8], "bn": false, "bias": true}}},
              {"name": "renal", "prefix": "renal.", "tasks": ["renal"], "fusion": "separate",
               "backbone": {"type": "resnet3d", "depth": 10, "flavour": "hara", "in_channels": 1, "widths": [8, 16, 16, 16],
                            "stem": {"kernel": [3, 3, 3], "stride": [2, 2, 2], "padding": [1, 1, 1], "max_pool": false},
                            "strides": [1, 2, 2, 2], "dilations": [1, 1, 1, 1], "shortcut": "A", "downsample_bias": false},
               "head": {"type": "mlp", "hidden": [16], "bn": false, "bias": true}}]}
            """;

    /**
     * One network with channels fusion (3 input channels padded to 8 for the stem), dilated
     * stages (MedicalNet strides and dilations), shortcut B with a downsample bias.
     */
    static final String CHANNELS = """
            {"format": "renal-mtl-weights", "format_version": 1, "producer": "renal-mtl export.py (torch 1.13)",
             "name": "cuda-test-channels", "phases": ["arterial", "venous", "delayed"],
             "tasks": [{"name": "ccrcc", "positive": "clear-cell RCC", "negative": "other histology", "threshold": 0.5},
                       {"name": "stage", "positive": "stage III/IV", "negative": "stage I/II", "threshold": 0.5},
                       {"name": "renal", "positive": "high R.E.N.A.L. complexity", "negative": "low-intermediate", "threshold": 0.5}],
             "input": {"size": [17, 19, 21], "spacing_mm": [1.0, 1.0, 1.0], "margin_mm": 10.0},
             "preprocessing": {"hu_window": [-200.0, 300.0], "normalisation": "zscore", "mean": 60.0, "std": 80.0},
             "networks": [
              {"name": "mtdl", "prefix": "", "tasks": ["ccrcc", "stage", "renal"], "fusion": "channels",
               "backbone": {"type": "resnet3d", "depth": 10, "flavour": "medicalnet", "in_channels": 3, "widths": [8, 16, 16, 16],
                            "stem": {"kernel": [7, 7, 7], "stride": [2, 2, 2], "padding": [3, 3, 3], "max_pool": true},
                            "strides": [1, 2, 1, 1], "dilations": [1, 1, 2, 4], "shortcut": "B", "downsample_bias": true},
               "head": {"type": "ple", "levels": 1, "task_experts": 2, "shared_experts": 1, "expert_hidden": [16],
                        "expert_bn": false, "gate": {"hidden": [], "bias": true, "bn": false},
                        "tower": {"hidden": [8], "bn": false, "bias": true}}}]}
            """;

    static ModelConfig config(String json) {
        return ConfigParser.parse(json, Path.of("cuda-test.json"));
    }

    /** @return a segment of {@code n} normal(0, 1) floats from {@code seed} */
    static MemorySegment randomFloats(Arena arena, long n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        MemorySegment s = arena.allocate(Math.max(n, 1) * Float.BYTES, 64);
        for (long i = 0; i < n; i++) {
            // Box–Muller: one normal per pair of uniforms is plenty for test data.
            double u = 1 - r.nextDouble();
            double v = r.nextDouble();
            s.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) (Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)));
        }
        return s;
    }

    /** @return a device copy of {@code host} (caller closes it) */
    static DeviceBuffer upload(MemorySegment host) {
        DeviceBuffer d = DeviceBuffer.allocate(host.byteSize(), "test data");
        Cuda.check(cudaMemcpy(Cuda.at(d.address()), Cuda.at(host.address()), host.byteSize(), cudaMemcpyHostToDevice),
                "upload");
        return d;
    }

    /** Copies {@code bytes} from {@code device} into a new host segment. */
    static MemorySegment download(Arena arena, long device, long bytes) {
        MemorySegment s = arena.allocate(Math.max(bytes, 4), 64);
        Cuda.check(cudaMemcpy(Cuda.at(s.address()), Cuda.at(device), bytes, cudaMemcpyDeviceToHost), "download");
        return s;
    }

    /** Fills {@code bytes} of device memory with a NaN pattern, so unwritten outputs are caught. */
    static void poison(Arena arena, long device, long bytes) {
        MemorySegment s = arena.allocate(Math.max(bytes, 4), 64);
        for (long i = 0; i < bytes / Float.BYTES; i++) {
            s.setAtIndex(ValueLayout.JAVA_FLOAT, i, Float.NaN);
        }
        Cuda.check(cudaMemcpy(Cuda.at(device), Cuda.at(s.address()), bytes, cudaMemcpyHostToDevice), "poison");
    }
}
