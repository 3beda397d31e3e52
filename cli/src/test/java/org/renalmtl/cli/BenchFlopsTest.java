package org.renalmtl.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.io.TempDir;
import org.renalmtl.cli.bench.BenchModels;
import org.renalmtl.cli.bench.Flops;
import org.renalmtl.weights.ModelConfig;

/**
 * {@code bench}'s FLOP count (from the engine's graph) against PyTorch forward hooks on the reference
 * modules of weights/export ({@code bench_flops.py}): the same integer, for each backbone depth, early
 * fusion, a PLE head over more tasks, and the single-task networks, at a batch and size other than the
 * built-in ones.
 */
class BenchFlopsTest {
    @ParameterizedTest
    @CsvSource({"r18-3p-96, 3, mtdl, 1, 96", "r10, 5, mtdl, 2, 32", "r34, 3, stdl, 1, 40", "r50, 3, mtdl, 1, 32",
        "early-fusion, 3, stdl, 2, 48", "early-fusion, 8, mtdl, 1, 32"})
    void countEqualsPyTorchHooks(String name, int tasks, String kind, int cases, int size, @TempDir Path dir)
            throws Exception {
        ModelConfig mtdl = BenchModels.mtdl(name, tasks);
        ModelConfig config = kind.equals("mtdl") ? mtdl : BenchModels.stdlFor(mtdl);
        Path json = dir.resolve("config.json");
        Files.writeString(json, config.json());
        Path script = Path.of(BenchFlopsTest.class.getResource("/bench_flops.py").toURI());
        Cli.Run py = Cli.exec(dir, List.of("/usr/bin/python3", script.toString(), DemoInspectTest.exportDir().toString(),
                json.toString(), Integer.toString(cases), Integer.toString(size)));
        assertEquals(0, py.code(), py::toString);
        assertEquals(Long.parseLong(py.out().trim()), Flops.of(config, cases, new int[] {size, size, size}),
                name + " " + kind + " " + tasks + " tasks");
    }
}
