package org.renalmtl.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import org.renalmtl.engine.BuiltinModels;
import org.renalmtl.engine.Model;
import org.renalmtl.engine.Precision;
import org.renalmtl.engine.Prediction;
import org.renalmtl.loader.NiftiReader;
import org.renalmtl.loader.NiftiWriter;
import org.renalmtl.loader.Volume;
import org.renalmtl.loader.phantom.Phantom;
import org.renalmtl.loader.phantom.PhantomCase;
import org.renalmtl.loader.phantom.PhantomOptions;
import org.renalmtl.pipeline.CasePipeline;
import org.renalmtl.pipeline.CaseReport;
import org.renalmtl.segmentation.PredictionOptions;
import org.renalmtl.segmentation.SegmentationModel;
import org.renalmtl.segmentation.SegmentationResult;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code renal-mtl demo}: the whole path on built-in defaults, with nothing to download — a
 * synthetic three-phase phantom written as NIfTI, its venous phase segmented by the built-in nnU-Net
 * model trained on phantoms ({@code phantom-seg.h5}, see {@code phantom-seg.README.md}), the tumour it
 * finds measured and cropped, and run through the seeded R18-3P-96 multi-task model.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Run the whole pipeline on a synthetic phantom: the built-in phantom nnU-Net segments the tumour,"
                + " then the built-in seeded R18-3P-96 MTDL model classifies it.",
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
            Path segmentation = segment(dir, files.get(1), files.get(3));
            CasePipeline pipeline = CasePipeline.inMemory(model, "builtin:R18-3P-96 MTDL seed " + seed);
            CaseReport r = pipeline.run(files.subList(0, 3), segmentation);
            Path report = dir.resolve("report.json");
            written.add(report);
            AtomicFiles.writeString(report, r.toJson());
            PredictCommand.warn(r.warnings());
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

    /**
     * Segments the phantom's venous phase with the built-in phantom nnU-Net and writes the tumour it finds as
     * a mask, so the classifier runs on the segmentation rather than on the phantom's truth.
     *
     * @return the tumour mask written in {@code dir}
     */
    private Path segment(Path dir, Path venous, Path truth) {
        long t0 = System.nanoTime();
        Path weights = dir.resolve("phantom-seg.h5");
        written.add(weights);
        try (InputStream in = DemoCommand.class.getResourceAsStream("phantom-seg.h5")) {
            if (in == null) {
                throw new IllegalStateException("the built-in phantom segmentation model is missing from the class path");
            }
            Files.copy(in, weights, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Path mask = dir.resolve("segmentation.nii.gz");
        written.add(mask);
        try (SegmentationModel seg = SegmentationModel.load(weights, device.parse(), Precision.TF32,
                        PredictionOptions.nnunetDefaults());
                Volume image = NiftiReader.read(venous);
                SegmentationResult r = seg.segment(List.of(image), false);
                Volume tumour = Volume.allocate(image.nz(), image.ny(), image.nx(), image.geometry(), mask.toString());
                Volume truthMask = NiftiReader.read(truth)) {
            int label = seg.config().label(seg.config().renalMtl().tumourLabel()).values()[0];
            long found = 0;
            long both = 0;
            long truthVoxels = 0;
            for (long i = 0; i < tumour.voxelCount(); i++) {
                boolean t = r.labels().get(i) == label;
                boolean u = truthMask.get(i) != 0;
                tumour.set(i, t ? 1 : 0);
                found += t ? 1 : 0;
                truthVoxels += u ? 1 : 0;
                both += t && u ? 1 : 0;
            }
            NiftiWriter.writeMask(tumour, mask);
            System.out.printf("segmentation: nnU-Net phantom model on the venous phase, %d tumour voxels, Dice %.3f"
                    + " against the phantom's truth -> %s (%.2f s)%n", found, 2.0 * both / (found + truthVoxels), mask,
                    (System.nanoTime() - t0) / 1e9);
        } finally {
            try {
                Files.deleteIfExists(weights);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return mask;
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
