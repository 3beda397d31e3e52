package org.renalmtl.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.renalmtl.engine.Model;
import org.renalmtl.engine.Prediction;
import org.renalmtl.loader.ImageInput;
import org.renalmtl.loader.MaskSelection;
import org.renalmtl.loader.preprocess.Reorientation;
import org.renalmtl.pipeline.CasePipeline;
import org.renalmtl.pipeline.CaseReport;
import org.renalmtl.pipeline.Provenance;
import org.renalmtl.pipeline.TumourSegmentation;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code renal-mtl predict}: one case (phase files + tumour mask → JSON report) or a cohort
 * (CSV of cases → results CSV, resumable).
 */
@Command(name = "predict", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Predict one case (phase images + tumour mask -> JSON report) or a cohort (CSV -> CSV).",
            "Phase names come from the model config; --arterial/--venous/--delayed are the defaults,"
                    + " --phase NAME=FILE works for any.",
            "A phase image is a NIfTI file or a folder holding a DICOM series (converted with dcm2niix, which must be"
                    + " on the PATH); --series chooses the series of a folder that holds several.",
            "Warnings (the same scan for two phases, a tumour at the scan's edge) go to stderr and the report.",
            "A cohort's rows carry the model's SHA-256, the engine version and the options that change them (--reorient,"
                    + " --label, --series): a results file written otherwise is refused, never mixed."},
        exitCodeListHeading = "Exit codes:%n",
        exitCodeList = {"0:every case ran (a cohort: every case has an ok row)",
            "3:a cohort ran, but some case has an error row (it says why; --retry-failed runs those again)",
            "2:bad input or usage (one line naming the file and the problem; nothing run or written)",
            "1:internal error (a bug; --debug shows the stack trace)"})
final class PredictCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Option(names = "--model", required = true, paramLabel = "M.h5", description = "Weight file.")
    Path model;

    @Option(names = "--arterial", paramLabel = "FILE|DIR", description = "Arterial phase: NIfTI file or DICOM series folder.")
    Path arterial;

    @Option(names = "--venous", paramLabel = "FILE|DIR",
            description = "Venous/nephrographic phase: NIfTI file or DICOM series folder.")
    Path venous;

    @Option(names = "--delayed", paramLabel = "FILE|DIR", description = "Delayed phase: NIfTI file or DICOM series folder.")
    Path delayed;

    @Option(names = "--phase", paramLabel = "NAME=FILE|DIR", description = "A phase by its config name.")
    Map<String, Path> phases = new LinkedHashMap<>();

    @Option(names = "--series", paramLabel = "[PHASE=]UID|DESCRIPTION",
            description = "In a DICOM folder holding several series, take the one with this SeriesInstanceUID or"
                    + " SeriesDescription (case ignored). Without PHASE= it applies to (and must match in) every DICOM"
                    + " folder given; PHASE= limits it to one phase's folder. Repeatable.")
    List<String> series = new ArrayList<>();

    @Option(names = "--mask", paramLabel = "FILE",
            description = "Tumour mask (NIfTI) on the first phase's grid, or on another grid that overlaps it"
                    + " (resampled onto the first phase's, nearest neighbour).")
    Path mask;

    @Option(names = "--seg-model", paramLabel = "S.h5",
            description = "Segment the tumour with this nnU-Net model (export.py --nnunet) instead of --mask: on the"
                    + " phase(s) its config names, keeping the largest tumour component; the report says how many"
                    + " there were and which kidney (left/right of the patient, ml) holds the largest. With --cohort"
                    + " the list has no mask column, and each row gains tumour_components and tumour_side.")
    Path segModel;

    @Option(names = "--save-mask", paramLabel = "MASK.nii.gz", description = "With --seg-model: keep the tumour mask it found.")
    Path saveMask;

    @Option(names = "--label", paramLabel = "N",
            description = "Use mask label N as the tumour (default: the largest connected component of non-zero voxels).")
    Integer label;

    @Option(names = "--cohort", paramLabel = "CASES.csv",
            description = "Run every case of a CSV (columns case_id, one per phase name: a NIfTI file or DICOM folder,"
                    + " mask (none with --seg-model); optional PHASE_series columns choose a folder's series per case; paths relative to the"
                    + " CSV).")
    Path cohort;

    @Option(names = "--part", paramLabel = "K/N",
            description = "With --cohort: run only part K of N, the cases whose id hashes to K (SHA-256 of the id, not"
                    + " the row order: adding cases moves no other case); the N parts' results together are the whole"
                    + " run's, row for row.")
    String part;

    @Option(names = "--retry-failed", description = "With --cohort: run the cases with an error row again; each new row"
            + " replaces the old one.")
    boolean retryFailed;

    /** Cases prepared ahead by default: one is enough to hide reading when it is shorter than a forward. */
    static final int DEFAULT_PREFETCH = 2;

    @Option(names = "--prefetch", paramLabel = "Q",
            description = "With --cohort: read and preprocess up to Q cases ahead on a thread of their own while the"
                    + " network runs (default " + DEFAULT_PREFETCH + "; 0: one thread). Costs Q cases' network inputs (3 x 96^3"
                    + " floats, 10.6 MB each) plus one case's scans being read; rows are the same, in list order.")
    Integer prefetch;

    @Option(names = "--batch", paramLabel = "N",
            description = "With --cohort: N cases per forward (default 1); for a GPU, where one case"
                    + " leaves it idle. Probabilities may differ from --batch 1 in the last float bits.")
    Integer batch;

    @Option(names = "--out", required = true, paramLabel = "FILE",
            description = "result.json for one case, results.csv for a cohort.")
    Path out;

    @Option(names = "--save-input", paramLabel = "DIR", description = "Also write the network input as NIfTI here.")
    Path saveInput;

    @Option(names = "--reorient", defaultValue = "none", paramLabel = "none|ras",
            description = "Axes of the tumour crop: none (default) along the first phase's voxel axes as stored; ras"
                    + " along them permuted and flipped to the closest of R, A, S, as nibabel's as_closest_canonical,"
                    + " for models trained on crops of RAS-reoriented images.")
    String reorient;

    @Mixin
    DeviceOption device;

    @Override
    public Integer call() throws JsonProcessingException {
        AtomicFiles.checkWritable(out);
        if (saveInput != null && !Files.isDirectory(saveInput)) {
            throw new InputException(saveInput + ": --save-input directory does not exist");
        }
        MaskSelection selection;
        try {
            selection = label == null ? MaskSelection.largestComponent() : MaskSelection.ofLabel(label);
        } catch (IllegalArgumentException e) {
            throw new InputException("--label " + label + ": " + e.getMessage());
        }
        if (segModel != null && (mask != null || label != null)) {
            throw new InputException("--seg-model finds the tumour itself: it takes neither --mask nor --label");
        }
        if ((part != null || retryFailed) && cohort == null) {
            throw new InputException((part != null ? "--part" : "--retry-failed") + " needs --cohort");
        }
        if ((prefetch != null || batch != null) && cohort == null) {
            throw new InputException((batch != null ? "--batch" : "--prefetch") + " needs --cohort");
        }
        int ahead = prefetch == null ? DEFAULT_PREFETCH : prefetch;
        int perForward = batch == null ? 1 : batch;
        if (ahead < 0 || ahead > 64) {
            throw new InputException("--prefetch " + prefetch + ": must be 0 to 64 cases");
        }
        if (perForward < 1 || perForward > 64) {
            throw new InputException("--batch " + batch + ": must be 1 to 64 cases");
        }
        CohortPart cohortPart = CohortPart.parse(part);
        if (saveMask != null && (segModel == null || cohort != null)) {
            throw new InputException("--save-mask needs --seg-model and one case (it keeps the mask the segmentation"
                    + " found)");
        }
        if (saveMask != null) {
            AtomicFiles.checkWritable(saveMask);
        }
        Reorientation reorientation = switch (reorient) {
            case "none" -> Reorientation.NONE;
            case "ras" -> Reorientation.RAS;
            default -> throw new InputException("--reorient " + reorient + ": must be none or ras");
        };
        try (Model m = Model.load(model, device.parse())) {
            CasePipeline pipeline = CasePipeline.of(m, model).reorienting(reorientation);
            SeriesChoice choice = SeriesChoice.parse(series, m.config().phases());
            if (cohort != null) {
                String options = Provenance.options(reorient, label, series);
                try (TumourSegmentation seg = segModel == null ? null : TumourSegmentation.load(segModel,
                        device.parse())) {
                    return new CohortRunner(pipeline, seg, m.config(), selection, choice, options,
                            new CohortRunner.Throughput(ahead, perForward)).run(cohort, out, cohortPart, retryFailed);
                }
            }
            List<ImageInput> inputs = choice.inputs(m.config().phases(), phaseFiles(m.config().phases()));
            if (segModel != null) {
                return segmentThenPredict(pipeline, m.config().phases(), inputs);
            }
            if (mask == null) {
                throw new InputException("--mask or --seg-model is required (the tumour mask on the "
                        + m.config().phases().get(0) + " phase's grid, or a model that finds it)");
            }
            CaseReport r = pipeline.run(inputs, mask, selection, saveInput);
            AtomicFiles.writeString(out, r.toJson());
            warn(r.warnings());
            print(r);
            return 0;
        }
    }

    /** Each warning on stderr, one line, as the report lists them. */
    static void warn(List<String> warnings) {
        for (String w : warnings) {
            System.err.println("renal-mtl: warning: " + w);
        }
    }

    /** Segments the tumour, then predicts on its largest component; the report gains what the segmentation found. */
    private int segmentThenPredict(CasePipeline pipeline, List<String> phaseNames, List<ImageInput> files)
            throws JsonProcessingException {
        Path maskFile = saveMask;
        if (maskFile == null) {
            try {
                maskFile = Files.createTempFile(out.toAbsolutePath().getParent(), ".renal-mtl-mask", ".nii.gz");
            } catch (java.io.IOException e) {
                throw new InputException(out + ": cannot write a temporary mask beside it (" + e.getMessage() + ")");
            }
        }
        boolean maskWritten = false;
        boolean ok = false;
        try {
            TumourSegmentation.Found found;
            try (TumourSegmentation seg = TumourSegmentation.load(segModel, device.parse())) {
                found = seg.segment(seg.channelFiles(phaseNames, files), maskFile);
            }
            maskWritten = true;
            CaseReport r = pipeline.run(files, maskFile, MaskSelection.largestComponent(), saveInput);
            ObjectNode json = (ObjectNode) JSON.readTree(r.toJson());
            json.set("segmentation", JSON.valueToTree(found.toJson()));
            AtomicFiles.writeString(out, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(json) + "\n");
            warn(r.warnings());
            System.out.println(found.describe());
            print(r);
            ok = true;
            return 0;
        } finally {
            // The temporary mask always goes; a --save-mask this run wrote goes when the run fails (nothing
            // partial stays), while one it never reached is the user's earlier file and stays.
            if (saveMask == null || !ok && maskWritten) {
                try {
                    Files.deleteIfExists(maskFile);
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }
        }
    }

    private List<Path> phaseFiles(List<String> names) {
        Map<String, Path> given = new LinkedHashMap<>();
        if (arterial != null) {
            given.put("arterial", arterial);
        }
        if (venous != null) {
            given.put("venous", venous);
        }
        if (delayed != null) {
            given.put("delayed", delayed);
        }
        given.putAll(phases);
        List<Path> out = new ArrayList<>();
        List<String> missing = new ArrayList<>();
        for (String n : names) {
            Path p = given.remove(n);
            if (p == null) {
                missing.add("--" + (List.of("arterial", "venous", "delayed").contains(n) ? n : "phase " + n + "=FILE"));
            }
            out.add(p);
        }
        if (!missing.isEmpty()) {
            throw new InputException("missing phase(s) for this model: " + String.join(", ", missing));
        }
        if (!given.isEmpty()) {
            throw new InputException("the model has no phase(s) " + given.keySet() + " (its phases: " + names + ")");
        }
        return out;
    }

    private void print(CaseReport r) {
        for (Prediction.TaskResult t : r.prediction().tasks()) {
            System.out.printf("%-8s p = %.4f  -> %s%n", t.task(), t.probability(), t.label());
        }
        System.out.printf("tumour: %.1f ml, max diameter %.1f mm (R = %d)%n", r.tumour().volumeMl(),
                r.tumour().maxDiameterMm(), r.tumour().renalRPoints());
        System.out.println("report: " + out);
    }
}
