package org.renalmtl.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import org.renalmtl.engine.BuiltinModels;
import org.renalmtl.engine.Model;
import org.renalmtl.engine.Prediction;
import org.renalmtl.loader.phantom.Phantom;
import org.renalmtl.loader.phantom.PhantomCase;
import org.renalmtl.loader.phantom.PhantomOptions;
import org.renalmtl.pipeline.CasePipeline;
import org.renalmtl.pipeline.CaseReport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code renal-mtl demo}: the whole path on built-in defaults, with nothing to download — a
 * synthetic three-phase phantom written as NIfTI, read back, measured, cropped around the tumour,
 * and run through the seeded R18-3P-96 multi-task model.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Run the whole pipeline on a synthetic phantom with the built-in seeded R18-3P-96 MTDL model.",
            "The weights are random (seeded): the probabilities show the machinery, not a diagnosis."})
final class DemoCommand implements Callable<Integer> {
    @Option(names = "--seed", defaultValue = "2026", description = "Seed of the phantom and the weights (${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--out", paramLabel = "DIR",
            description = "Keep the phantom NIfTI files and report.json here (default: a temporary directory, removed).")
    Path out;

    @Option(names = "--save-model", paramLabel = "M.h5", description = "Also write the demo model as a weight file.")
    Path saveModel;

    @Option(names = "--runs", defaultValue = "3", description = "Timed forward passes after the first (${DEFAULT-VALUE}).")
    int runs;

    @Mixin
    DeviceOption device;

    /** Files this run wrote (or was writing), removed again if it fails. */
    private final List<Path> written = new ArrayList<>();

    @Override
    public Integer call() throws IOException {
        if (saveModel != null) {
            AtomicFiles.checkWritable(saveModel);
        }
        if (out != null && Files.exists(out) && !Files.isDirectory(out, LinkOption.NOFOLLOW_LINKS)) {
            throw new InputException(out + ": --out must be a directory, and this is "
                    + (Files.isSymbolicLink(out) ? "a symbolic link" : "a file"));
        }
        boolean created = out == null || !Files.exists(out);
        Path dir = out != null ? Files.createDirectories(out) : Files.createTempDirectory("renal-mtl-demo");
        boolean ok = false;
        try {
            int rc = run(dir);
            ok = true;
            return rc;
        } finally {
            // Nothing partial stays behind: a directory this run made goes, else the files it wrote.
            if (out == null || !ok && created) {
                deleteTree(dir);
            } else if (!ok) {
                for (Path f : written) {
                    Files.deleteIfExists(f);
                }
            }
        }
    }

    private int run(Path dir) throws JsonProcessingException {
        long t0 = System.nanoTime();
        List<Path> files;
        try (PhantomCase phantom = Phantom.generate(seed, PhantomOptions.defaults())) {
            written.addAll(PhantomCase.FILE_NAMES.stream().map(dir::resolve).toList());
            files = phantom.writeTo(dir);
            System.out.printf("phantom: 3 phases + tumour mask (%.1f ml, true max diameter %.1f mm) -> %s (%.2f s)%n",
                    phantom.truth().volumeMl(), phantom.truth().maxDiameterMm(), dir, (System.nanoTime() - t0) / 1e9);
        }
        long t1 = System.nanoTime();
        try (Model model = BuiltinModels.create(BuiltinModels.Kind.MTDL, seed, device.parse())) {
            System.out.printf("model: %s, seeded weights (%s), %s (%.2f s)%n", model.config().name(), seed,
                    model.device(), (System.nanoTime() - t1) / 1e9);
            if (saveModel != null) {
                written.add(saveModel);
                BuiltinModels.write(BuiltinModels.Kind.MTDL, seed, saveModel);
                System.out.println("model written: " + saveModel);
            }
            CasePipeline pipeline = CasePipeline.inMemory(model, "builtin:R18-3P-96 MTDL seed " + seed);
            CaseReport r = pipeline.run(files.subList(0, 3), files.get(3));
            Path report = dir.resolve("report.json");
            written.add(report);
            AtomicFiles.writeString(report, r.toJson());
            for (Prediction.TaskResult t : r.prediction().tasks()) {
                System.out.printf("  %-6s p = %.4f  -> %s%n", t.task(), t.probability(), t.label());
            }
            System.out.printf("tumour: %.1f ml, max diameter %.1f mm, R.E.N.A.L. R = %d; HU arterial %.0f, venous %.0f,"
                    + " delayed %.0f%n", r.tumour().volumeMl(), r.tumour().maxDiameterMm(), r.tumour().renalRPoints(),
                    r.tumour().phases().get(0).meanHu(), r.tumour().phases().get(1).meanHu(),
                    r.tumour().phases().get(2).meanHu());
            Map<String, Double> t = r.timings();
            System.out.printf("timings: load %.2f s, measure %.2f s, preprocess %.2f s, first inference %.2f s"
                    + " (includes planning)%n", t.get("load_s"), t.get("measure_s"), t.get("preprocess_s"),
                    t.get("inference_s"));
            timeForward(model);
            if (out != null) {
                System.out.println("report: " + report);
            }
        }
        return 0;
    }

    /** Times warm forwards of the model on its configured input size (the plan is already built). */
    private void timeForward(Model model) {
        if (runs > 0) {
            double best = ForwardTimer.time(model, 1, 0, runs)[0];
            System.out.printf("forward (3 x 96^3, warm): best of %d = %.1f ms on %s%n", runs, best, model.device());
        }
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
