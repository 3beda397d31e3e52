package org.renalmtl.segmentation;

import java.nio.file.Path;
import java.util.List;
import org.renalmtl.loader.NiftiWriter;
import org.renalmtl.loader.Volume;

/**
 * The exported prediction on the input's grid (file voxel order, original affine).
 *
 * @param labels        label map (values 0..255 held as float32 voxels), to be written as uint8
 * @param probabilities one volume per network output (softmax, or sigmoid per region), empty unless asked
 *                      for; outside the non-zero box background is 1 (label models) or every region 0
 */
public record SegmentationResult(Volume labels, List<Volume> probabilities) implements AutoCloseable {

    /** Copies the list. */
    public SegmentationResult {
        probabilities = List.copyOf(probabilities);
    }

    /**
     * Writes the label map as uint8 NIfTI with the input's affine.
     *
     * @param path target .nii or .nii.gz
     * @throws org.renalmtl.loader.VolumeInputException naming the path when it cannot be written
     */
    public void writeLabels(Path path) {
        NiftiWriter.writeMask(labels, path);
    }

    /**
     * Writes the probabilities as one 4-D float32 NIfTI, (x, y, z, output): one volume per network output in
     * output order (classes 0..K-1 for a label model, regions in {@code regions_class_order} order for a
     * region model), with the input's affine, as nnU-Net's {@code --save_probabilities} keeps them (there as
     * an .npz array).
     *
     * @param path    target .nii or .nii.gz (written through a temporary file: complete or absent)
     * @param descrip the header's descrip text, e.g. the outputs' names (cut to 79 characters)
     * @throws IllegalStateException if the result was made without probabilities
     * @throws org.renalmtl.loader.VolumeInputException naming the path when it cannot be written
     */
    public void writeProbabilities(Path path, String descrip) {
        if (probabilities.isEmpty()) {
            throw new IllegalStateException("no probabilities: segment with probabilities = true");
        }
        NiftiWriter.writeFloat4d(probabilities, path, descrip);
    }

    /** Frees every volume. */
    @Override
    public void close() {
        labels.close();
        for (Volume v : probabilities) {
            v.close();
        }
    }
}
