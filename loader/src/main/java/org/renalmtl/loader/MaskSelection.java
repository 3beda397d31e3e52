package org.renalmtl.loader;

/**
 * Which voxels of a mask count as the tumour. A voxel's label is its value rounded to the nearest integer
 * (so a probability map thresholds at 0.5 and a label map keeps its labels).
 *
 * @param label 0 for "the largest 26-connected component of all non-zero voxels" (the default); a positive
 *              label for "every voxel with this label", connected or not
 */
public record MaskSelection(int label) {

    /** Checks the label. */
    public MaskSelection {
        if (label < 0) {
            throw new IllegalArgumentException("mask label must be 0 (largest component) or positive, got " + label);
        }
    }

    /** @return the default: largest connected component of the non-zero voxels */
    public static MaskSelection largestComponent() {
        return new MaskSelection(0);
    }

    /**
     * @param label a positive label value
     * @return every voxel with that label
     */
    public static MaskSelection ofLabel(int label) {
        if (label <= 0) {
            throw new IllegalArgumentException("mask label must be positive, got " + label);
        }
        return new MaskSelection(label);
    }

    /**
     * @param v a mask voxel's value
     * @return whether its label (the value rounded) is selected: non-zero for the largest-component default (before
     *     the component is chosen), else equal to {@link #label()}
     */
    public boolean selects(float v) {
        return label == 0 ? v < -0.5f || v >= 0.5f : v >= label - 0.5f && v < label + 0.5f;
    }

    /** @return true for the largest-component default */
    public boolean isLargestComponent() {
        return label == 0;
    }

    @Override
    public String toString() {
        return label == 0 ? "largest connected component" : "label " + label;
    }
}
