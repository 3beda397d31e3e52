package org.renalmtl.pipeline;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.renalmtl.engine.Prediction;
import org.renalmtl.loader.MaskSelection;
import org.renalmtl.loader.dicom.DicomSeries;
import org.renalmtl.loader.measure.PhaseStats;
import org.renalmtl.loader.measure.TumourMeasurements;
import org.renalmtl.loader.preprocess.PreprocessedInput;
import org.renalmtl.loader.preprocess.Reorientation;
import org.renalmtl.loader.preprocess.Roi;

/**
 * What {@link CasePipeline#run} found for one case: per-task probabilities, tumour measurements, the
 * region the network saw, per-stage timings, and where it all came from. {@link #toJson()} is the
 * report {@code renal-mtl predict} writes.
 *
 * @param source the model and input files
 * @param prediction per-task probabilities and labels, in the config's task order
 * @param tumour volume, maximum diameter, R.E.N.A.L. R points and HU per phase
 * @param input the region of interest and how it was resampled for the network
 * @param timings seconds per stage ({@code load_s}, {@code preprocess_s}, {@code measure_s},
 *     {@code inference_s}, {@code total_s}), in pipeline order
 * @param warnings inputs that ran but are probably not what was meant (the same scan for two phases, a tumour at
 *     the scan's edge, a region reaching beyond a scan), one line each; empty when none
 */
public record CaseReport(Source source, Prediction prediction, TumourMeasurements tumour, NetworkInput input,
                         Map<String, Double> timings, List<String> warnings) {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Keeps the timings in pipeline order and unmodifiable, and copies the warnings. */
    public CaseReport {
        timings = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(timings));
        warnings = List.copyOf(warnings);
    }

    /**
     * Where a report came from.
     *
     * @param model the weight file, or a description of in-memory weights
     * @param modelSha256 the weight file's SHA-256, or null for in-memory weights
     * @param modelName the config's model name
     * @param device the device that ran it
     * @param phases the model's phase names, in config order
     * @param phaseFiles one file (or DICOM folder) per phase, same order
     * @param series per phase, the DICOM series it was read from, empty for a NIfTI file
     * @param mask the tumour mask file
     * @param selection which mask component or label was the tumour
     */
    public record Source(String model, String modelSha256, String modelName, String device, List<String> phases,
                         List<Path> phaseFiles, List<Optional<DicomSeries>> series, Path mask, MaskSelection selection) {
        /** Copies the lists. */
        public Source {
            phases = List.copyOf(phases);
            phaseFiles = List.copyOf(phaseFiles);
            series = List.copyOf(series);
        }
    }

    /**
     * The tumour region as the network saw it.
     *
     * @param roi the region in the mask's voxels and in world millimetres
     * @param sizeDhw network input size // (D, H, W)
     * @param spacingMm network voxel spacing // (z, y, x), mm
     * @param scaledToFit whether the region was larger than size × spacing and was scaled down
     * @param coverage per phase, the fraction of the region that phase's scan covers
     * @param reorientation along which axes the network grid lies
     * @param axes the network grid's orientation codes for its (w, h, d) axes, as nibabel's {@code aff2axcodes}
     * @param maskResampled whether the mask was on another grid and was resampled onto the first phase's
     */
    public record NetworkInput(Roi roi, int[] sizeDhw, double[] spacingMm, boolean scaledToFit, double[] coverage,
                               Reorientation reorientation, String axes, boolean maskResampled) {
        static NetworkInput of(PreprocessedInput in, Reorientation reorientation) {
            int[] s = in.shape(); // (phases, D, H, W) or (D, H, W)
            int[] dhw = s.length == 4 ? new int[] {s[1], s[2], s[3]} : s.clone();
            return new NetworkInput(in.roi(), dhw, in.spacingMm(), in.scaledToFit(), in.coverage(), reorientation,
                    in.geometry().orientation(), in.maskResampled());
        }
    }

    /**
     * @param task a task name of the model's config
     * @return that task's result
     * @throws IllegalArgumentException if the model has no such task
     */
    public Prediction.TaskResult task(String task) {
        return prediction.task(task);
    }

    /** @return the report as pretty-printed JSON (the format {@code renal-mtl predict --out} writes) */
    public String toJson() {
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(tree());
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a report of numbers and strings failed to serialise", e);
        }
    }

    private ObjectNode tree() {
        ObjectNode r = JSON.createObjectNode();
        r.put("engine", "renal-mtl " + EngineVersion.VERSION);
        r.put("device", source.device());
        ObjectNode m = r.putObject("model");
        m.put("file", source.model());
        if (source.modelSha256() != null) {
            m.put("sha256", source.modelSha256());
        } else {
            m.put("note", "built-in seeded demo weights: not a trained model");
        }
        m.put("name", source.modelName());
        ObjectNode in = r.putObject("inputs");
        for (int p = 0; p < source.phases().size(); p++) {
            in.put(source.phases().get(p), source.phaseFiles().get(p).toString());
        }
        in.put("mask", source.mask().toString());
        in.put("mask_selection", source.selection().toString());
        if (source.series().stream().anyMatch(Optional::isPresent)) {
            ObjectNode dicom = in.putObject("dicom");
            for (int p = 0; p < source.phases().size(); p++) {
                if (source.series().get(p).isEmpty()) {
                    continue;
                }
                DicomSeries d = source.series().get(p).get();
                ObjectNode o = dicom.putObject(source.phases().get(p));
                o.put("series_uid", d.uid());
                o.put("series_description", d.description());
                if (d.number() != null) {
                    o.put("series_number", d.number());
                }
                o.put("modality", d.modality());
            }
        }
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
        for (int p = 0; p < source.phases().size(); p++) {
            PhaseStats s = tumour.phases().get(p);
            ObjectNode o = hu.putObject(source.phases().get(p));
            o.put("mean", s.meanHu());
            o.put("sd", s.sdHu());
        }
        ObjectNode roi = r.putObject("roi");
        roi.set("mask_voxel_lo_zyx", ints(input.roi().maskLo()));
        roi.set("mask_voxel_hi_zyx", ints(input.roi().maskHi()));
        roi.set("world_min_xyz_mm", doubles(input.roi().worldMin()));
        roi.set("world_max_xyz_mm", doubles(input.roi().worldMax()));
        roi.set("network_size_dhw", ints(input.sizeDhw()));
        roi.set("network_spacing_zyx_mm", doubles(input.spacingMm()));
        roi.put("scaled_to_fit", input.scaledToFit());
        roi.put("mask_components", input.roi().components());
        roi.set("phase_coverage", doubles(input.coverage()));
        roi.put("reorientation", input.reorientation().label());
        roi.put("network_axes", input.axes());
        roi.put("mask_resampled", input.maskResampled());
        ArrayNode w = r.putArray("warnings");
        warnings.forEach(w::add);
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
}
