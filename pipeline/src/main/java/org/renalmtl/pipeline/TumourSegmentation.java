package org.renalmtl.pipeline;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.renalmtl.engine.Device;
import org.renalmtl.engine.Precision;
import org.renalmtl.loader.ImageInput;
import org.renalmtl.loader.NiftiWriter;
import org.renalmtl.loader.Volume;
import org.renalmtl.loader.VolumeInputException;
import org.renalmtl.segmentation.PredictionOptions;
import org.renalmtl.segmentation.SegmentationModel;
import org.renalmtl.segmentation.SegmentationResult;
import org.renalmtl.segmentation.TumourSite;
import org.renalmtl.weights.SegmentationConfig;
import org.renalmtl.weights.WeightFormatException;

/**
 * {@code --seg-model}: the tumour found by an nnU-Net model on the phase(s) its config names
 * ({@code renal_mtl.phases}), written as a mask for the classification pipeline, with what a report says of it.
 * Used by {@code predict} for one case, by the cohort runner and by the Spark job for many; one instance may be
 * shared by threads, which segment one at a time (the network's plan holds one case's activations).
 */
public final class TumourSegmentation implements AutoCloseable {
    private final Path file;
    private final String sha256;
    private final SegmentationModel model;

    private TumourSegmentation(Path file, String sha256, SegmentationModel model) {
        this.file = file;
        this.sha256 = sha256;
        this.model = model;
    }

    /**
     * Loads and compiles the model with nnU-Net's default inference settings.
     *
     * @param file   the weight file ({@code export.py --nnunet})
     * @param device where it runs
     * @return the loaded model; close it
     */
    public static TumourSegmentation load(Path file, Device device) {
        String sha = CasePipeline.sha256(file);
        return new TumourSegmentation(file, sha, SegmentationModel.load(file, device, Precision.TF32,
                PredictionOptions.nnunetDefaults()));
    }

    /** @return the weight file's SHA-256, lower-case hex, as read when loaded */
    public String sha256() {
        return sha256;
    }

    /**
     * Which of the classifier's phases the segmentation model takes: known from the models alone, so a cohort whose
     * models do not fit stops before any case (the Spark driver asks with the config only, without loading).
     *
     * @param file       the segmentation model, for messages
     * @param config     its config
     * @param phaseNames the classifier's phases
     * @return the index in {@code phaseNames} of each input channel's phase
     * @throws WeightFormatException if the model names a phase the classifier lacks, or names none and takes other
     *                               than every phase
     */
    public static int[] channelPhases(Path file, SegmentationConfig config, List<String> phaseNames) {
        List<String> named = config.renalMtl().phases();
        List<String> wanted = named.isEmpty() ? phaseNames : named;
        if (wanted.size() != config.channels().size()) {
            throw new WeightFormatException(file, "the model takes " + config.channels().size()
                    + " channel(s) but names " + (named.isEmpty() ? "no phase (renal_mtl.phases; export with --phases)"
                            : wanted));
        }
        int[] out = new int[wanted.size()];
        for (int k = 0; k < out.length; k++) {
            out[k] = phaseNames.indexOf(wanted.get(k));
            if (out[k] < 0) {
                throw new WeightFormatException(file, "segments on phase '" + wanted.get(k)
                        + "', which the classifier does not take " + phaseNames);
            }
        }
        return out;
    }

    /**
     * @param phaseNames the classifier's phases
     * @return the index in {@code phaseNames} of each input channel's phase
     * @throws WeightFormatException if the models do not fit
     */
    public int[] channelPhases(List<String> phaseNames) {
        return channelPhases(file, model.config(), phaseNames);
    }

    /**
     * @param phaseNames the classifier's phases
     * @param files      a case's images of them, in the same order
     * @return the images the segmentation model takes, one per input channel ({@link #channelPhases})
     * @throws WeightFormatException if the models do not fit ({@link #channelPhases})
     */
    public List<ImageInput> channelFiles(List<String> phaseNames, List<ImageInput> files) {
        List<ImageInput> out = new ArrayList<>();
        for (int i : channelPhases(phaseNames)) {
            out.add(files.get(i));
        }
        return out;
    }

    /**
     * Segments the case, writes the tumour (every voxel the model labels tumour) as a 0/1 mask, and finds the
     * kidney that holds its largest component ({@link TumourSite}: the body midline from the first CT channel).
     *
     * @param channels the images the model takes ({@link #channelFiles})
     * @param maskFile where the mask is written
     * @return what it found
     * @throws VolumeInputException if an image cannot be read or no voxel is tumour ("no tumour found in PHASE")
     */
    public synchronized Found segment(List<ImageInput> channels, Path maskFile) {
        SegmentationConfig c = model.config();
        List<Volume> images = new ArrayList<>();
        try {
            for (ImageInput in : channels) {
                images.add(in.read().volume());
            }
            int[] tumour = c.label(c.renalMtl().tumourLabel()).values();
            int[] kidney = c.renalMtl().kidneyLabel() == null ? new int[0] : c.label(c.renalMtl().kidneyLabel()).values();
            Volume ct = null;
            for (int i = 0; i < images.size() && ct == null; i++) {
                ct = c.channels().get(i).normalization() == SegmentationConfig.Normalization.CT ? images.get(i) : null;
            }
            try (SegmentationResult r = model.segment(images, false);
                    Volume mask = Volume.allocate(r.labels().nz(), r.labels().ny(), r.labels().nx(),
                            r.labels().geometry(), maskFile.toString())) {
                long tumourVoxels = 0;
                long kidneyVoxels = 0;
                for (long i = 0; i < mask.voxelCount(); i++) {
                    int v = (int) r.labels().get(i);
                    boolean t = contains(tumour, v);
                    mask.set(i, t ? 1 : 0);
                    tumourVoxels += t ? 1 : 0;
                    kidneyVoxels += contains(kidney, v) ? 1 : 0;
                }
                List<String> phases = c.renalMtl().phases();
                if (tumourVoxels == 0) {
                    throw new VolumeInputException(file + ": no tumour found in " + (phases.isEmpty()
                            ? channels.stream().map(ImageInput::path).toList() : phases));
                }
                TumourSite site = TumourSite.find(r.labels(), tumour, kidney, ct);
                NiftiWriter.writeMask(mask, maskFile);
                double ml = mask.geometry().voxelVolumeMm3() / 1000.0;
                return new Found(file.getFileName().toString(), phases.isEmpty() ? List.of() : phases, tumourVoxels * ml,
                        kidney.length == 0 ? Double.NaN : kidneyVoxels * ml, site);
            }
        } finally {
            images.forEach(Volume::close);
        }
    }

    private static boolean contains(int[] values, int v) {
        for (int x : values) {
            if (x == v && v != 0) {
                return true;
            }
        }
        return false;
    }

    /**
     * What the segmentation found.
     *
     * @param model the weight file's name
     * @param phases the phases it segmented
     * @param tumourMl every tumour voxel, in ml
     * @param kidneyMl every kidney voxel (the label the config names), in ml; NaN if it names none
     * @param site the tumour's components and the kidney that holds the largest (the one classified)
     */
    public record Found(String model, List<String> phases, double tumourMl, double kidneyMl, TumourSite site) {
        /** @return connected components of tumour */
        public int tumourComponents() {
            return site.tumourComponents();
        }

        /** @return the report's {@code segmentation} object (README.md, "The segmentation in a report") */
        public Map<String, Object> toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("model", model);
            m.put("phases", phases);
            m.put("tumour_components", site.tumourComponents());
            m.put("tumour_ml", tumourMl);
            if (!Double.isNaN(kidneyMl)) {
                m.put("kidney_ml", kidneyMl);
                m.put("tumour_side", site.side() == null ? null : site.side().json());
                m.put("tumour_kidney_ml", Double.isNaN(site.kidneyMl()) ? null : site.kidneyMl());
                m.put("side_from", site.midline() == null ? null : site.midline().json());
            }
            return m;
        }

        /** @return one line for the terminal: where the classified tumour is */
        public String describe() {
            String where;
            if (Double.isNaN(kidneyMl)) {
                where = "the model has no kidney label";
            } else if (Double.isNaN(site.kidneyMl())) {
                where = "the largest touches no kidney";
            } else {
                where = String.format(Locale.ROOT, "the largest in the %s kidney (%.1f ml; midline from %s)",
                        site.side() == null ? "undecided" : site.side().json(), site.kidneyMl(),
                        site.midline() == null ? "-" : site.midline().json().replace('_', ' '));
            }
            return String.format(Locale.ROOT, "segmentation: %s on %s, %d tumour component(s), %.1f ml tumour%s; %s",
                    model, phases, site.tumourComponents(), tumourMl,
                    Double.isNaN(kidneyMl) ? "" : String.format(Locale.ROOT, ", %.1f ml kidney", kidneyMl), where);
        }
    }

    @Override
    public void close() {
        model.close();
    }
}
