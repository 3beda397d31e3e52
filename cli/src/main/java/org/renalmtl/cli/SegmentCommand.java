package org.renalmtl.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import org.renalmtl.engine.Precision;
import org.renalmtl.loader.NiftiReader;
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
 * {@code renal-mtl segment}: one CT (one image per input channel) through an exported nnU-Net v2 model, as
 * {@code nnUNetv2_predict} does it, to a uint8 label map on the image's grid.
 */
@Command(name = "segment", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Segment a CT with an nnU-Net v2 model exported by weights/export/export.py --nnunet.",
            "Preprocessing, sliding window (Gaussian, 0.5 overlap, mirroring) and export as nnU-Net v2 does them;"
                    + " the label map is written as uint8 NIfTI with the image's affine."})
final class SegmentCommand implements Callable<Integer> {
    @Option(names = "--seg-model", required = true, paramLabel = "S.h5", description = "Segmentation weight file.")
    Path segModel;

    @Option(names = "--image", required = true, paramLabel = "FILE",
            description = "Input image NIfTI; repeat once per input channel, in the model's channel order.")
    List<Path> images = new ArrayList<>();

    @Option(names = "--out", required = true, paramLabel = "MASK.nii.gz", description = "Label map to write.")
    Path out;

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
        AtomicFiles.checkWritable(out);
        if (tilesPerPass < 1 || tilesPerPass > 64) {
            throw new InputException("--tiles-per-pass: must be 1..64, got " + tilesPerPass);
        }
        PredictionOptions options = PredictionOptions.nnunetDefaults().withMirroring(!disableTta)
                .withAccumulation(fp32Accumulation ? Grid.Storage.FLOAT32 : Grid.Storage.FLOAT16)
                .withBatchSize(tilesPerPass);
        try (SegmentationModel model = SegmentationModel.load(segModel, device.parse(), Precision.TF32, options)) {
            int channels = model.config().channels().size();
            if (images.size() != channels) {
                throw new InputException(segModel + ": the model takes " + channels + " image(s) (--image per channel: "
                        + model.config().channels().stream().map(SegmentationConfig.Channel::name).toList() + "), got "
                        + images.size());
            }
            List<Volume> volumes = new ArrayList<>();
            try {
                for (Path p : images) {
                    volumes.add(NiftiReader.read(p));
                }
                try (SegmentationResult r = model.segment(volumes, false)) {
                    r.writeLabels(out);
                    print(model.config(), r.labels());
                }
            } finally {
                volumes.forEach(Volume::close);
            }
        }
        return 0;
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
