package org.renalmtl.cli;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.renalmtl.weights.ConfigParser;
import org.renalmtl.weights.SeededWeights;
import org.renalmtl.weights.WeightWriter;

/** {@code inspect} shows the format-version-2 head fields: the hidden activation and per-level expert widths. */
class InspectVersion2Test {
    @TempDir
    Path dir;

    private Path write(String head) {
        String json = """
                {"format": "renal-mtl-weights", "format_version": 2, "producer": "test", "name": "v2",
                 "phases": ["venous"], "tasks": [{"name": "stage"}, {"name": "renal"}],
                 "input": {"size": [16, 16, 16], "spacing_mm": [1.0, 1.0, 1.0]},
                 "preprocessing": {"hu_window": [-200.0, 300.0], "normalisation": "zscore", "mean": 60.0, "std": 80.0},
                 "networks": [{"name": "n", "prefix": "", "tasks": ["stage", "renal"], "fusion": "batch",
                   "backbone": {"type": "resnet3d", "depth": 10, "widths": [4, 8, 8, 8],
                     "stem": {"kernel": [3, 3, 3], "stride": [2, 2, 2], "padding": [1, 1, 1], "max_pool": true}},
                   "head": %s}]}
                """.formatted(head);
        Path file = dir.resolve("v2.h5");
        try (Arena arena = Arena.ofConfined()) {
            WeightWriter.write(file, json, SeededWeights.generate(ConfigParser.parse(json, file), 1, arena));
        }
        return file;
    }

    @Test
    void activationAndPerLevelWidthsAreShown() {
        Cli.Run r = Cli.ok("inspect", write("""
                {"type": "ple", "levels": 2, "task_experts": 1, "shared_experts": 1, "expert_hidden": [[8], [6, 4]],
                 "activation": "tanh", "gate": {"hidden": [5], "hidden_bn": true, "bias": false},
                 "tower": {"hidden": [3]}}"""));
        assertTrue(r.out().contains("head: PLE, 2 level(s), 1 task + 1 shared experts [[8], [6, 4]], gate hidden [5] "
                + "with BN (no bias), tower [3], activation tanh"), r::toString);
    }

    @Test
    void leakyReluShowsItsSlope() {
        Cli.Run r = Cli.ok("inspect", write("""
                {"type": "ple", "levels": 1, "task_experts": 1, "shared_experts": 0, "expert_hidden": [8],
                 "activation": "leaky_relu", "negative_slope": 0.2, "gate": {}, "tower": {}}"""));
        assertTrue(r.out().contains("experts [8], gate hidden [], tower [], activation leaky_relu(0.2)"), r::toString);
    }
}
