package org.renalmtl.pipeline;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.renalmtl.engine.Model;
import org.renalmtl.engine.Prediction;
import org.renalmtl.loader.ImageInput;
import org.renalmtl.loader.MaskSelection;
import org.renalmtl.loader.NiftiReader;
import org.renalmtl.loader.Volume;
import org.renalmtl.loader.VolumeInputException;
import org.renalmtl.loader.measure.TumourMeasurements;
import org.renalmtl.loader.measure.TumourMeasurer;
import org.renalmtl.loader.preprocess.Normalisation;
import org.renalmtl.loader.preprocess.PreprocessedInput;
import org.renalmtl.loader.preprocess.PreprocessingSpec;
import org.renalmtl.loader.preprocess.Preprocessor;
import org.renalmtl.loader.preprocess.Reorientation;
import org.renalmtl.weights.ModelConfig;

/**
 * One case from image files to a {@link CaseReport}, in pipeline order: read the phases (NIfTI files or DICOM
 * series folders, {@link ImageInput}) and the tumour mask, crop and normalise the tumour region as the model's
 * config says (spacing, size, margin, HU window, normalisation; along the reference phase's axes or reoriented,
 * {@link #reorienting}), measure the tumour, run the model.
 *
 * <pre>{@code
 * try (Model model = Model.load(file, Device.AUTO)) {
 *     CasePipeline pipeline = CasePipeline.of(model, file);
 *     CaseReport report = pipeline.run(List.of(arterial, venous, delayed), mask);
 * }
 * }</pre>
 *
 * <p>The pipeline does not own the model: close the model when done. It holds no per-case state, so
 * one pipeline serves many cases; calls are serialised by the model. Bad input (unreadable or
 * inconsistent image files, an empty mask, phases that do not overlap) is reported as
 * {@link org.renalmtl.loader.VolumeInputException} with one line naming the file and the problem; inputs that
 * run but are probably not meant (the same scan for two phases, a tumour at the scan's edge) are the report's
 * {@link CaseReport#warnings()}.
 */
public final class CasePipeline {
    private final Model model;
    private final String modelName;
    private final String modelSha256; // null for in-memory weights
    private final PreprocessingSpec spec;

    private CasePipeline(Model model, String modelName, String modelSha256, PreprocessingSpec spec) {
        this.model = Objects.requireNonNull(model, "model");
        this.modelName = modelName;
        this.modelSha256 = modelSha256;
        this.spec = spec == null ? spec(model.config()) : spec;
    }

    /**
     * A pipeline for a model loaded from a file; the file's SHA-256 (computed once, here) goes into
     * every report so that a result can be traced to the exact weights.
     *
     * @param model the loaded model (not owned)
     * @param modelFile the weight file it was loaded from
     * @return the pipeline
     * @throws UncheckedIOException if the file cannot be read
     */
    public static CasePipeline of(Model model, Path modelFile) {
        return new CasePipeline(model, modelFile.toString(), sha256(modelFile), null);
    }

    /** @return the weight file's SHA-256 (lower-case hex), or null for in-memory weights */
    public String modelSha256() {
        return modelSha256;
    }

    /**
     * A pipeline for weights that exist only in memory (seeded demo weights); reports say they are not
     * a trained model.
     *
     * @param model the model (not owned)
     * @param description what the weights are, e.g. {@code builtin:R18-3P-96 MTDL seed 2026}
     * @return the pipeline
     */
    public static CasePipeline inMemory(Model model, String description) {
        return new CasePipeline(model, description, null, null);
    }

    /**
     * The same pipeline with the network grid laid out along other axes: {@link Reorientation#RAS} for models
     * trained on crops of RAS-reoriented images (nibabel's {@code as_closest_canonical}).
     *
     * @param r the reorientation
     * @return a pipeline that crops that way
     */
    public CasePipeline reorienting(Reorientation r) {
        return new CasePipeline(model, modelName, modelSha256, spec.withReorientation(r));
    }

    /** Maps the model config's preprocessing onto the loader's spec. */
    private static PreprocessingSpec spec(ModelConfig c) {
        ModelConfig.Preprocessing p = c.preprocessing();
        return new PreprocessingSpec(c.input().size(), c.input().spacingMm(), c.input().marginMm(), p.huLow(), p.huHigh(),
                p.normalisation().equals("zscore") ? Normalisation.ZSCORE : Normalisation.WINDOW, p.mean(), p.std());
    }

    /**
     * Runs one case with the largest connected component of the mask as the tumour.
     *
     * @param phaseFiles one NIfTI file (or DICOM series folder) per phase, in the order of {@code model.config().phases()}
     * @param maskFile tumour mask (NIfTI), on the first phase's grid or on a grid that overlaps it
     * @return the report
     */
    public CaseReport run(List<Path> phaseFiles, Path maskFile) {
        return run(phaseFiles.stream().map(ImageInput::of).toList(), maskFile, MaskSelection.largestComponent(), null);
    }

    /**
     * Runs one case: {@link #prepare}, then {@link #infer}.
     *
     * @param phaseInputs one image per phase, in the order of {@code model.config().phases()}
     * @param maskFile tumour mask (NIfTI), on the first phase's grid or on a grid that overlaps it (resampled
     *     onto the first phase's, nearest neighbour)
     * @param selection which mask component or label is the tumour
     * @param saveInput directory to write what the network sees (one NIfTI per phase), or null
     * @return the report
     * @throws IllegalArgumentException if the number of phase files is not the model's
     */
    public CaseReport run(List<ImageInput> phaseInputs, Path maskFile, MaskSelection selection, Path saveInput) {
        try (PreparedCase c = prepare(phaseInputs, maskFile, selection)) {
            if (saveInput != null) {
                c.input.save(saveInput, model.config().phases());
            }
            return infer(c);
        }
    }

    /**
     * Reads, crops, normalises and measures one case, everything before the network. It does not touch the model,
     * so it may run on another thread while the model runs an earlier case.
     *
     * @param phaseInputs one image per phase, in the order of {@code model.config().phases()}
     * @param maskFile tumour mask (NIfTI), as for {@link #run}
     * @param selection which mask component or label is the tumour
     * @return the prepared case; close it unless {@link #infer} used it
     * @throws IllegalArgumentException if the number of phase files is not the model's
     */
    public PreparedCase prepare(List<ImageInput> phaseInputs, Path maskFile, MaskSelection selection) {
        List<String> phases = model.config().phases();
        if (phaseInputs.size() != phases.size()) {
            throw new IllegalArgumentException(phaseInputs.size() + " phase file(s) for a model of phases " + phases);
        }
        if (Files.isDirectory(maskFile)) {
            throw new VolumeInputException(maskFile + ": the tumour mask is read from a NIfTI file, and this is a folder"
                    + " (DICOM SEG and RTSTRUCT are not read)");
        }
        Map<String, Double> timings = new LinkedHashMap<>();
        List<String> warnings = new ArrayList<>();
        long t0 = System.nanoTime();
        List<ImageInput.Loaded> loaded = new ArrayList<>();
        Volume mask = null;
        PreprocessedInput input = null;
        try {
            mask = NiftiReader.read(maskFile);
            for (ImageInput in : phaseInputs) {
                loaded.add(in.read());
            }
            List<Volume> volumes = loaded.stream().map(ImageInput.Loaded::volume).toList();
            long t1 = System.nanoTime();
            timings.put("load_s", (t1 - t0) / 1e9);
            warnings.addAll(CaseWarnings.duplicates(phases, phaseInputs, loaded));
            // Preprocessing first: it places the mask on the reference phase's grid (or says that it misses it),
            // so a mask from another scan is reported as such rather than as a phase that misses the mask.
            input = Preprocessor.run(volumes, mask, selection, spec);
            long t2 = System.nanoTime();
            timings.put("preprocess_s", (t2 - t1) / 1e9);
            warnings.addAll(CaseWarnings.edges(phases, volumes, input, spec.marginMm(), spec.huLow()));
            TumourMeasurements tumour = TumourMeasurer.measure(mask, selection, volumes);
            timings.put("measure_s", (System.nanoTime() - t2) / 1e9);
            PreparedCase c = new PreparedCase(List.copyOf(phaseInputs),
                    loaded.stream().map(ImageInput.Loaded::series).toList(), maskFile, selection, input, tumour,
                    warnings, timings);
            input = null;
            return c;
        } finally {
            // The whole scans are not needed once cropped and measured: they go before the model plans
            // and runs, the case's memory peak.
            closeAll(loaded, mask);
            if (input != null) {
                input.close();
            }
        }
    }

    /**
     * Runs the network on one prepared case.
     *
     * @param c the case (left open: the caller closes it)
     * @return the report
     */
    public CaseReport infer(PreparedCase c) {
        long t0 = System.nanoTime();
        Prediction prediction = model.predict(c.input.data());
        return report(c, prediction, (System.nanoTime() - t0) / 1e9);
    }

    /**
     * Runs the network once on several prepared cases, padded with zero inputs to {@code batch} cases so that a
     * short last batch reuses the plan of the full ones (a plan per batch size would hold its own activations).
     * A case's numbers may differ from {@link #infer}'s in the last float bits (another blocking of the same sums).
     *
     * @param cases the cases (left open: the caller closes them), at most {@code batch}
     * @param batch cases per forward
     * @return one report per case, in order; {@code inference_s} is the forward's time shared equally
     * @throws org.renalmtl.engine.ModelRunException if the forward fails for any case of the batch
     */
    public List<CaseReport> inferBatch(List<PreparedCase> cases, int batch) {
        if (cases.isEmpty() || cases.size() > batch) {
            throw new IllegalArgumentException(cases.size() + " case(s) for a batch of " + batch);
        }
        long t0 = System.nanoTime();
        List<Prediction> predictions;
        try (Arena arena = Arena.ofConfined()) {
            long bytes = cases.getFirst().input.data().byteSize(); // one case: (phases, D, H, W) float32
            MemorySegment all = arena.allocate(bytes * batch, 64); // (batch, phases, D, H, W), zeroed
            for (int i = 0; i < cases.size(); i++) {
                MemorySegment one = cases.get(i).input.data();
                if (one.byteSize() != bytes) {
                    throw new IllegalArgumentException("cases of a batch must have one input size");
                }
                all.asSlice(i * bytes, bytes).copyFrom(one);
            }
            predictions = model.predictBatch(all, batch);
        }
        double each = (System.nanoTime() - t0) / 1e9 / cases.size();
        List<CaseReport> out = new ArrayList<>();
        for (int i = 0; i < cases.size(); i++) {
            out.add(report(cases.get(i), predictions.get(i), each));
        }
        return out;
    }

    private CaseReport report(PreparedCase c, Prediction prediction, double inferenceSeconds) {
        Map<String, Double> timings = new LinkedHashMap<>(c.timings);
        timings.put("inference_s", inferenceSeconds);
        timings.put("total_s", c.prepareSeconds() + inferenceSeconds);
        var source = new CaseReport.Source(modelName, modelSha256, model.config().name(), model.device().toString(),
                model.config().phases(), c.phaseInputs.stream().map(ImageInput::path).toList(), c.series, c.maskFile,
                c.selection);
        return new CaseReport(source, prediction, c.tumour, CaseReport.NetworkInput.of(c.input, spec.reorientation()),
                timings, List.copyOf(c.warnings));
    }

    private static void closeAll(List<ImageInput.Loaded> loaded, Volume mask) {
        for (ImageInput.Loaded v : loaded) {
            v.close();
        }
        if (mask != null) {
            mask.close();
        }
    }

    /**
     * @param file a weight file
     * @return its SHA-256, lower-case hex, as {@link #modelSha256()} gives it
     * @throws UncheckedIOException if the file cannot be read
     */
    public static String sha256(Path file) {
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), MessageDigest.getInstance("SHA-256"))) {
            in.transferTo(OutputStream.nullOutputStream());
            return HexFormat.of().formatHex(((DigestInputStream) in).getMessageDigest().digest());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
