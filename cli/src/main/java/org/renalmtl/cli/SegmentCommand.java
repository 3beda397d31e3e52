package org.renalmtl.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import org.renalmtl.engine.Precision;
import org.renalmtl.loader.ImageInput;
import org.renalmtl.loader.Volume;
import org.renalmtl.segmentation.Grid;
import org.renalmtl.segmentation.PredictionOptions;
import org.renalmtl.segmentation.SegmentationModel;
import org.renalmtl.segmentation.SegmentationResult;
import org.renalmtl.weights.SegmentationConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code renal-mtl segment}: CT (one image per input channel) through an exported nnU-Net v2 model, as
 * {@code nnUNetv2_predict} does it, to a uint8 label map on the image's grid, and optionally the probabilities
 * as one 4-D NIfTI; one case ({@code --image}, {@code --out}) or a folder of cases ({@code -i}, {@code -o},
 * {@link FolderSegmentation}).
 */
@Command(name = "segment", mixinStandardHelpOptions = true, sortOptions = false,
        customSynopsis = {
            "Usage: renal-mtl segment --seg-model S.h5 --image CT.nii.gz|DICOM_DIR [--image ...]",
            "         --out MASK.nii.gz [--save-probabilities P.nii.gz] [OPTIONS]",
            "       renal-mtl segment --seg-model S.h5 -i IN_DIR -o OUT_DIR",
            "         [--save-probabilities] [--overwrite] [OPTIONS]"},
        description = {"Segment CT with an nnU-Net v2 model exported by weights/export/export.py --nnunet.",
            "Preprocessing, sliding window (Gaussian, 0.5 overlap, mirroring) and export as nnU-Net v2 does them;"
                    + " the label map is written as uint8 NIfTI with the image's affine.",
            "Folder mode reads IN_DIR/CASE_0000.nii.gz (one file per channel: _0000, _0001, ...) and writes"
                    + " OUT_DIR/CASE.nii.gz; cases whose outputs exist are skipped (resume), a bad case is reported and"
                    + " the run goes on; exit 3 if any case failed.",
            "An image may be a folder holding a DICOM series (--image DIR, or IN_DIR/CASE_0000/ in folder mode),"
                    + " converted with dcm2niix (which must be on the PATH); --series chooses among several."},
        exitCodeListHeading = "Exit codes:%n",
        exitCodeList = {"0:every case segmented (or skipped, its outputs already there)",
            "3:folder mode ran, but some case failed (each reported on one line)",
            "2:bad input or usage (one line naming the file and the problem; nothing written)",
            "1:internal error (a bug; --debug shows the stack trace)"})
final class SegmentCommand implements Callable<Integer> {
    @Option(names = "--seg-model", required = true, paramLabel = "S.h5", description = "Segmentation weight file.")
    Path segModel;

    @Option(names = "--image", paramLabel = "FILE|DIR",
            description = "One case: input image, a NIfTI file or a DICOM series folder; repeat once per input channel,"
                    + " in the model's channel order.")
    List<Path> images = new ArrayList<>();

    @Option(names = "--series", paramLabel = "UID|DESCRIPTION",
            description = "In DICOM folders holding several series, take the one with this SeriesInstanceUID or"
                    + " SeriesDescription (case ignored).")
    String series;

    @Option(names = "--out", paramLabel = "MASK.nii.gz", description = "One case: the label map to write.")
    Path out;

    @Option(names = {"-i", "--input-folder"}, paramLabel = "IN_DIR",
            description = "Folder mode: the images, CASE_XXXX.nii.gz or a DICOM folder CASE_XXXX/ (XXXX = channel"
                    + " index, 0000 for CT).")
    Path inDir;

    @Option(names = {"-o", "--output-folder"}, paramLabel = "OUT_DIR",
            description = "Folder mode: where CASE.nii.gz (and CASE_probabilities.nii.gz) go; created if absent.")
    Path outDir;

    @Option(names = "--save-probabilities", arity = "0..1", fallbackValue = "", paramLabel = "P.nii.gz",
            description = "Also write the probabilities as one 4-D float32 NIfTI (x, y, z, class), one volume per"
                    + " class (per region for region models) in output order: to P.nii.gz for one case; as"
                    + " OUT_DIR/CASE_probabilities.nii.gz in folder mode (no file name then).")
    String saveProbabilities;

    @Option(names = "--overwrite",
            description = "Folder mode: segment every case again, even those whose outputs exist (default: skip them).")
    boolean overwrite;

    @Option(names = "--disable-tta", description = "No test-time mirroring (nnU-Net's --disable_tta): 8x fewer passes.")
    boolean disableTta;

    @Option(names = "--fp32-accumulation",
            description = "Accumulate the tiles' logits in float32 (nnU-Net accumulates in float16 on the GPU).")
    boolean fp32Accumulation;

    @Option(names = "--tiles-per-pass", defaultValue = "1", paramLabel = "N",
            description = "Tiles per network call (default: ${DEFAULT-VALUE}, as nnU-Net).")
    int tilesPerPass;

    @Mixin
    DeviceOption device;

    @Override
    public Integer call() {
        boolean folder = inDir != null || outDir != null;
        checkMode(folder);
        if (tilesPerPass < 1 || tilesPerPass > 64) {
            throw new InputException("--tiles-per-pass: must be 1..64, got " + tilesPerPass);
        }
        CaseFolder cases = folder ? CaseFolder.scan(inDir) : null;
        if (series != null && (folder ? cases.cases().values().stream().flatMap(c -> c.values().stream())
                : images.stream()).noneMatch(Files::isDirectory)) {
            throw new InputException("--series " + series + ": no image is a DICOM folder (it chooses a series in one)");
        }
        Path probabilities = folder || saveProbabilities == null ? null : Path.of(saveProbabilities);
        if (!folder) {
            AtomicFiles.checkWritable(out);
            if (probabilities != null) {
                AtomicFiles.checkWritable(probabilities);
                if (out.toAbsolutePath().normalize().equals(probabilities.toAbsolutePath().normalize())) {
                    throw new InputException(out + ": --out and --save-probabilities name the same file");
                }
            }
        }
        PredictionOptions options = PredictionOptions.nnunetDefaults().withMirroring(!disableTta)
                .withAccumulation(fp32Accumulation ? Grid.Storage.FLOAT32 : Grid.Storage.FLOAT16)
                .withBatchSize(tilesPerPass);
        try (SegmentationModel model = SegmentationModel.load(segModel, device.parse(), Precision.TF32, options)) {
            if (folder) {
                return new FolderSegmentation(model, saveProbabilities != null, overwrite, series).run(cases, outDir);
            }
            segmentOne(model, probabilities);
        }
        return 0;
    }

    /** One of the two modes, each with both of its options, and the options that only one mode takes. */
    private void checkMode(boolean folder) {
        boolean single = !images.isEmpty() || out != null;
        if (single && folder) {
            throw new InputException("--image/--out (one case) and -i/-o (a folder of cases) cannot be combined");
        }
        if (!single && !folder) {
            throw new InputException("give --image and --out (one case) or -i and -o (a folder of cases)");
        }
        if (folder && (inDir == null || outDir == null)) {
            throw new InputException(inDir == null ? "-o needs -i (the folder of input images)"
                    : "-i needs -o (the folder for the label maps)");
        }
        if (single && (images.isEmpty() || out == null)) {
            throw new InputException(out == null ? "--image needs --out (the label map to write)"
                    : "--out needs --image (the image to segment)");
        }
        if (folder && saveProbabilities != null && !saveProbabilities.isEmpty()) {
            throw new InputException("--save-probabilities takes no file name with -i/-o: it writes"
                    + " OUT_DIR/CASE_probabilities.nii.gz");
        }
        if (!folder && saveProbabilities != null && saveProbabilities.isEmpty()) {
            throw new InputException("--save-probabilities needs a file name with --image/--out (P.nii.gz)");
        }
        if (!folder && overwrite) {
            throw new InputException("--overwrite is for folder mode (-i/-o); one case's --out is always written");
        }
    }

    private void segmentOne(SegmentationModel model, Path probabilities) {
        int channels = model.config().channels().size();
        if (images.size() != channels) {
            throw new InputException(segModel + ": the model takes " + channels + " image(s) (--image per channel: "
                    + model.config().channels().stream().map(SegmentationConfig.Channel::name).toList() + "), got "
                    + images.size());
        }
        List<Volume> volumes = new ArrayList<>();
        try {
            for (Path p : images) {
                volumes.add(new ImageInput(p, series).read().volume());
            }
            try (SegmentationResult r = model.segment(volumes, probabilities != null)) {
                write(r, out, probabilities, descrip(model.config()));
                print(model.config(), r.labels());
                if (probabilities != null) {
                    System.out.println("probabilities: " + probabilities + " (" + r.probabilities().size() + " volumes: "
                            + String.join(", ", outputNames(model.config())) + ")");
                }
            }
        } finally {
            volumes.forEach(Volume::close);
        }
    }

    /**
     * Writes a case's outputs: the probabilities first, then the label map; if the label map cannot be written,
     * the probabilities just written are removed, so a case's outputs are all there or none is.
     *
     * @param probabilities the 4-D file, or null for none
     */
    static void write(SegmentationResult r, Path labels, Path probabilities, String descrip) {
        if (probabilities != null) {
            r.writeProbabilities(probabilities, descrip);
        }
        try {
            r.writeLabels(labels);
        } catch (RuntimeException e) {
            if (probabilities != null) {
                try {
                    Files.deleteIfExists(probabilities);
                } catch (IOException d) {
                    e.addSuppressed(new UncheckedIOException(d));
                }
            }
            throw e;
        }
    }

    /**
     * The names of the network's outputs, in output order: label value c's name for a label model (output c is
     * label c), the labels other than background and ignore in {@code dataset.json} order for a region model
     * (the config parser has checked that either list has one name per output).
     */
    static List<String> outputNames(SegmentationConfig c) {
        if (c.regionBased()) {
            return c.labels().stream().map(SegmentationConfig.Label::name)
                    .filter(n -> !n.equals("background") && !n.equals("ignore")).toList();
        }
        List<String> names = new ArrayList<>();
        for (int v = 0; v < c.network().numClasses(); v++) {
            int value = v;
            names.add(c.labels().stream().filter(l -> !l.name().equals("ignore") && l.values()[0] == value)
                    .map(SegmentationConfig.Label::name).findFirst().orElseThrow());
        }
        return names;
    }

    /** The probability file's header text: what its fourth axis holds. */
    static String descrip(SegmentationConfig c) {
        return (c.regionBased() ? "region probabilities: " : "class probabilities: ") + String.join(",", outputNames(c));
    }

    /** Voxels and millilitres per label value written, so an empty segmentation is said, not just written. */
    private void print(SegmentationConfig config, Volume labels) {
        TreeMap<Integer, Long> counts = new TreeMap<>();
        for (long i = 0; i < labels.voxelCount(); i++) {
            counts.merge((int) labels.get(i), 1L, Long::sum);
        }
        double voxelMl = labels.geometry().voxelVolumeMm3() / 1000.0;
        int written = config.regionBased() ? config.regionsClassOrder().length : config.network().numClasses() - 1;
        if (counts.keySet().stream().noneMatch(v -> v != 0)) {
            System.out.println("no foreground: every voxel is background (0 of " + written + " labels found)");
        }
        for (var e : counts.entrySet()) {
            if (e.getKey() == 0) {
                continue;
            }
            String name = config.labels().stream().filter(l -> l.values().length == 1 && l.values()[0] == e.getKey())
                    .map(SegmentationConfig.Label::name).findFirst().orElse("label");
            System.out.printf("%-12s %d: %d voxels (%.1f ml)%n", name, e.getKey(), e.getValue(), e.getValue() * voxelMl);
        }
        System.out.println("mask: " + out);
    }
}
