package org.renalmtl.segmentation;

import org.renalmtl.loader.Geometry;

/**
 * What export needs to undo preprocessing (nnU-Net's {@code properties} dict). Shapes, spacing and the box
 * are in the network's axis order (after {@code transpose_forward}); {@code fileShape} is the read array's
 * (nz, ny, nx).
 *
 * @param source             the first channel's file, for messages
 * @param geometry           the original voxel-to-world affine, written with the label map
 * @param fileShape          (3) the image as read, (nz, ny, nx)
 * @param spacing            (3) original spacing in mm, transposed
 * @param shapeBeforeCropping (3) transposed shape before cropping
 * @param bboxStart          (3) first voxel of the non-zero bounding box
 * @param bboxEnd            (3) one past its last voxel
 * @param shapeAfterCropping (3) the box's shape, i.e. the shape logits are resampled back to
 * @param resampledShape     (3) the network-grid shape after resampling
 */
public record CaseProperties(String source, Geometry geometry, int[] fileShape, double[] spacing,
                             int[] shapeBeforeCropping, int[] bboxStart, int[] bboxEnd, int[] shapeAfterCropping,
                             int[] resampledShape) {

    /** Copies the arrays. */
    public CaseProperties {
        fileShape = fileShape.clone();
        spacing = spacing.clone();
        shapeBeforeCropping = shapeBeforeCropping.clone();
        bboxStart = bboxStart.clone();
        bboxEnd = bboxEnd.clone();
        shapeAfterCropping = shapeAfterCropping.clone();
        resampledShape = resampledShape.clone();
    }

    @Override
    public int[] fileShape() {
        return fileShape.clone();
    }

    @Override
    public double[] spacing() {
        return spacing.clone();
    }

    @Override
    public int[] shapeBeforeCropping() {
        return shapeBeforeCropping.clone();
    }

    @Override
    public int[] bboxStart() {
        return bboxStart.clone();
    }

    @Override
    public int[] bboxEnd() {
        return bboxEnd.clone();
    }

    @Override
    public int[] shapeAfterCropping() {
        return shapeAfterCropping.clone();
    }

    @Override
    public int[] resampledShape() {
        return resampledShape.clone();
    }
}
