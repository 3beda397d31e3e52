package org.renalmtl.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
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
import org.renalmtl.engine.Model;
import org.renalmtl.engine.Prediction;
import org.renalmtl.loader.MaskSelection;
import org.renalmtl.loader.NiftiReader;
import org.renalmtl.loader.Volume;
import org.renalmtl.loader.measure.PhaseStats;
import org.renalmtl.loader.measure.TumourMeasurements;
import org.renalmtl.loader.measure.TumourMeasurer;
import org.renalmtl.loader.preprocess.Normalisation;
import org.renalmtl.loader.preprocess.PreprocessedInput;
import org.renalmtl.loader.preprocess.PreprocessingSpec;
import org.renalmtl.loader.preprocess.Preprocessor;
import org.renalmtl.weights.ModelConfig;

/**
 * One case from files to report, in pipeline order: read the phases and the mask, crop and
 * normalise the tumour region, measure the tumour, run the model. Everything the report holds comes
 * from here, including per-stage timings.
 */
final class CasePipeline {
    static final ObjectMapper JSON = new ObjectMapper();

    private final Model model;
    private final String modelName;
    private final String modelSha256;
    private final PreprocessingSpec spec;

    /**
     * @param model the loaded model
     * @param modelFile its file (hashed once for the reports), or null for a built-in model
     */
    CasePipeline(Model model, Path modelFile, String builtinName) {
        this.model = model;
        this.modelName = modelFile != null ? modelFile.toString() : builtinName;
        this.modelSha256 = modelFile != null ? sha256(modelFile) : null;
        this.spec = spec(model.config());
    }

    /** Maps the model config's preprocessing onto the loader's spec. */
    static PreprocessingSpec spec(ModelConfig c) {
        ModelConfig.Preprocessing p = c.preprocessing();
        return new PreprocessingSpec(c.input().size(), c.input().spacingMm(), c.input().marginMm(), p.huLow(), p.huHigh(),
                p.normalisation().equals("zscore") ? Normalisation.ZSCORE : Normalisation.WINDOW, p.mean(), p.std());
    }

    /** The outcome of one case. */
    record Result(Prediction prediction, TumourMeasurements tumour, ObjectNode report) {}

    /**
     * Runs one case.
     *
     * @param phaseFiles one file per model phase, in config order
     * @param maskFile tumour mask on the first phase's grid
     * @param selection which mask component or label is the tumour
     * @param saveInput directory to write the network input to, or null
     */
    Result run(List<Path> phaseFiles, Path maskFile, MaskSelection selection, Path saveInput) {
        List<String> phases = model.config().phases();
        Map<String, Double> timings = new LinkedHashMap<>();
        long t0 = System.nanoTime();
        List<Volume> volumes = new ArrayList<>();
        try (Volume mask = NiftiReader.read(maskFile)) {
            try {
                for (Path f : phaseFiles) {
                    volumes.add(NiftiReader.read(f));
                }
                long t1 = System.nanoTime();
                timings.put("load_s", (t1 - t0) / 1e9);
                // Preprocessing first: it checks that the mask is on the reference phase's grid, so a mask
                // from another scan is reported as such rather than as a phase that misses the mask.
                try (PreprocessedInput input = Preprocessor.run(volumes, mask, selection, spec)) {
                    long t2 = System.nanoTime();
                    timings.put("preprocess_s", (t2 - t1) / 1e9);
                    TumourMeasurements tumour = TumourMeasurer.measure(mask, selection, volumes);
                    long t3 = System.nanoTime();
                    timings.put("measure_s", (t3 - t2) / 1e9);
                    if (saveInput != null) {
                        input.save(saveInput, phases);
                    }
                    Prediction prediction = model.predict(input.data());
                    long t4 = System.nanoTime();
                    timings.put("inference_s", (t4 - t3) / 1e9);
                    timings.put("total_s", (t4 - t0) / 1e9);
                    return new Result(prediction, tumour,
                            report(phaseFiles, maskFile, selection, prediction, tumour, input, timings));
                }
            } finally {
                for (Volume v : volumes) {
                    v.close();
                }
            }
        }
    }

    private ObjectNode report(List<Path> phaseFiles, Path maskFile, MaskSelection selection, Prediction prediction,
            TumourMeasurements tumour, PreprocessedInput input, Map<String, Double> timings) {
        List<String> phases = model.config().phases();
        ObjectNode r = JSON.createObjectNode();
        r.put("engine", "renal-mtl " + Main.VERSION);
        r.put("device", model.device().toString());
        ObjectNode m = r.putObject("model");
        m.put("file", modelName);
        if (modelSha256 != null) {
            m.put("sha256", modelSha256);
        } else {
            m.put("note", "built-in seeded demo weights: not a trained model");
        }
        m.put("name", model.config().name());
        ObjectNode in = r.putObject("inputs");
        for (int p = 0; p < phases.size(); p++) {
            in.put(phases.get(p), phaseFiles.get(p).toString());
        }
        in.put("mask", maskFile.toString());
        in.put("mask_selection", selection.toString());
        ObjectNode tasks = r.putObject("tasks");
        for (Prediction.TaskResult t : prediction.tasks()) {
            ObjectNode o = tasks.putObject(t.task());
            o.put("probability", t.probability());
            o.put("threshold", t.threshold());
            o.put("positive", t.positive());
            o.put("label", t.label());
        }
        ObjectNode tu = r.putObject("tumour");
        tu.put("voxels", tumour.voxels());
        tu.put("volume_ml", tumour.volumeMl());
        tu.put("max_diameter_mm", tumour.maxDiameterMm());
        tu.put("renal_r_points", tumour.renalRPoints());
        ObjectNode hu = tu.putObject("hu");
        for (int p = 0; p < phases.size(); p++) {
            PhaseStats s = tumour.phases().get(p);
            ObjectNode o = hu.putObject(phases.get(p));
            o.put("mean", s.meanHu());
            o.put("sd", s.sdHu());
        }
        ObjectNode roi = r.putObject("roi");
        roi.set("mask_voxel_lo_zyx", ints(input.roi().maskLo()));
        roi.set("mask_voxel_hi_zyx", ints(input.roi().maskHi()));
        roi.set("world_min_xyz_mm", doubles(input.roi().worldMin()));
        roi.set("world_max_xyz_mm", doubles(input.roi().worldMax()));
        roi.set("network_size_dhw", ints(input.shape().length == 4
                ? new int[] {input.shape()[1], input.shape()[2], input.shape()[3]}
                : input.shape()));
        roi.set("network_spacing_zyx_mm", doubles(input.spacingMm()));
        roi.put("scaled_to_fit", input.scaledToFit());
        roi.put("mask_components", input.roi().components());
        roi.set("phase_coverage", doubles(input.coverage()));
        ObjectNode t = r.putObject("timings");
        timings.forEach(t::put);
        return r;
    }

    private static ArrayNode ints(int[] v) {
        ArrayNode a = JSON.createArrayNode();
        for (int x : v) {
            a.add(x);
        }
        return a;
    }

    private static ArrayNode doubles(double[] v) {
        ArrayNode a = JSON.createArrayNode();
        for (double x : v) {
            a.add(x);
        }
        return a;
    }

    static String sha256(Path file) {
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), MessageDigest.getInstance("SHA-256"))) {
            in.transferTo(java.io.OutputStream.nullOutputStream());
            return HexFormat.of().formatHex(((DigestInputStream) in).getMessageDigest().digest());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
