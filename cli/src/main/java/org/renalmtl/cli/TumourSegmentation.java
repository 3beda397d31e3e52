package org.renalmtl.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.renalmtl.engine.Device;
import org.renalmtl.engine.Precision;
import org.renalmtl.loader.MaskRegion;
import org.renalmtl.loader.MaskSelection;
import org.renalmtl.loader.NiftiReader;
import org.renalmtl.loader.NiftiWriter;
import org.renalmtl.loader.Volume;
import org.renalmtl.segmentation.PredictionOptions;
import org.renalmtl.segmentation.SegmentationModel;
import org.renalmtl.segmentation.SegmentationResult;
import org.renalmtl.weights.SegmentationConfig;

/**
 * {@code predict --seg-model}: the tumour found by an nnU-Net model on the phase(s) its config names
 * ({@code renal_mtl.phases}), written as a mask for the classification pipeline, with what a report says of it.
 */
final class TumourSegmentation implements AutoCloseable {
    private final Path file;
    private final SegmentationModel model;

    private TumourSegmentation(Path file, SegmentationModel model) {
        this.file = file;
        this.model = model;
    }

    /** Loads and compiles the model with nnU-Net's default inference settings. */
    static TumourSegmentation load(Path file, Device device) {
        return new TumourSegmentation(file, SegmentationModel.load(file, device, Precision.TF32,
                PredictionOptions.nnunetDefaults()));
    }

    /**
     * @param phaseNames the classifier's phases
     * @param files their files, in the same order
     * @return the files of the phases the segmentation model takes, one per input channel
     * @throws InputException if the model names a phase the case lacks, or names none and takes other than every phase
     */
    List<Path> channelFiles(List<String> phaseNames, List<Path> files) {
        SegmentationConfig c = model.config();
        List<String> wanted = c.renalMtl().phases().isEmpty() ? phaseNames : c.renalMtl().phases();
        if (wanted.size() != c.channels().size()) {
            throw new InputException(file + ": the model takes " + c.channels().size() + " channel(s) but names "
                    + (c.renalMtl().phases().isEmpty() ? "no phase (renal_mtl.phases; export with --phases)" : wanted));
        }
        List<Path> out = new ArrayList<>();
        for (String p : wanted) {
            int i = phaseNames.indexOf(p);
            if (i < 0) {
                throw new InputException(file + ": segments on phase '" + p + "', which the case does not have "
                        + phaseNames);
            }
            out.add(files.get(i));
        }
        return out;
    }

    /**
     * Segments the case and writes the tumour (every voxel the model labels tumour) as a 0/1 mask.
     *
     * @throws InputException if no voxel is tumour ("no tumour found in PHASE")
     */
    Found segment(List<Path> channels, Path maskFile) {
        SegmentationConfig c = model.config();
        List<Volume> images = new ArrayList<>();
        try {
            for (Path p : channels) {
                images.add(NiftiReader.read(p));
            }
            int[] tumour = c.label(c.renalMtl().tumourLabel()).values();
            int[] kidney = c.renalMtl().kidneyLabel() == null ? new int[0] : c.label(c.renalMtl().kidneyLabel()).values();
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
                    throw new InputException(file + ": no tumour found in " + (phases.isEmpty() ? channels : phases));
                }
                NiftiWriter.writeMask(mask, maskFile);
                int components = MaskRegion.select(mask, MaskSelection.largestComponent()).components();
                double ml = mask.geometry().voxelVolumeMm3() / 1000.0;
                return new Found(file.getFileName().toString(), phases.isEmpty() ? List.of() : phases, components,
                        tumourVoxels * ml, kidney.length == 0 ? Double.NaN : kidneyVoxels * ml);
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
     * @param tumourComponents connected components of tumour (the largest is classified)
     * @param tumourMl every tumour voxel, in ml
     * @param kidneyMl every kidney voxel (the label the config names), in ml; NaN if it names none
     */
    record Found(String model, List<String> phases, int tumourComponents, double tumourMl, double kidneyMl) {
        /** @return the report's {@code segmentation} object */
        Map<String, Object> toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("model", model);
            m.put("phases", phases);
            m.put("tumour_components", tumourComponents);
            m.put("tumour_ml", tumourMl);
            if (!Double.isNaN(kidneyMl)) {
                m.put("kidney_ml", kidneyMl);
            }
            return m;
        }
    }

    @Override
    public void close() {
        model.close();
    }
}
