package org.renalmtl.loader.preprocess;

import java.util.Arrays;

/**
 * What the network expects as input, filled in from the model config by the caller.
 *
 * @param size          network input size (D, H, W), voxels
 * @param spacingMm     voxel size of the network input (z, y, x), mm, along the network grid's axes (the reference
 *                      phase's voxel axes, reoriented as {@code reorientation} says)
 * @param marginMm      margin added around the tumour bounding box on every side, mm
 * @param huLow         lower end of the HU window (also the value of samples outside a phase)
 * @param huHigh        upper end of the HU window
 * @param normalisation how clipped HU become network values
 * @param mean          mean for {@link Normalisation#ZSCORE} (ignored for WINDOW)
 * @param std           standard deviation for {@link Normalisation#ZSCORE}, &gt; 0 (ignored for WINDOW)
 * @param reorientation along which axes the network grid lies
 */
public record PreprocessingSpec(int[] size, double[] spacingMm, double marginMm, double huLow, double huHigh,
                                Normalisation normalisation, double mean, double std, Reorientation reorientation) {

    /** A spec whose network grid follows the reference phase's voxel axes ({@link Reorientation#NONE}). */
    public PreprocessingSpec(int[] size, double[] spacingMm, double marginMm, double huLow, double huHigh,
                             Normalisation normalisation, double mean, double std) {
        this(size, spacingMm, marginMm, huLow, huHigh, normalisation, mean, std, Reorientation.NONE);
    }

    /** Checks the values and copies the arrays. */
    public PreprocessingSpec {
        if (size == null || size.length != 3 || Arrays.stream(size).anyMatch(s -> s < 1)) {
            throw new IllegalArgumentException("size must be three positive voxel counts (D, H, W), got " + Arrays.toString(size));
        }
        if (spacingMm == null || spacingMm.length != 3 || Arrays.stream(spacingMm).anyMatch(s -> !(s > 0) || !Double.isFinite(s))) {
            throw new IllegalArgumentException("spacingMm must be three positive lengths (z, y, x), got " + Arrays.toString(spacingMm));
        }
        if (!(marginMm >= 0) || !Double.isFinite(marginMm)) {
            throw new IllegalArgumentException("marginMm must be >= 0, got " + marginMm);
        }
        if (!(huLow < huHigh) || !Double.isFinite(huLow) || !Double.isFinite(huHigh)) {
            throw new IllegalArgumentException("HU window must have huLow < huHigh, got " + huLow + ".." + huHigh);
        }
        if (normalisation == null) {
            throw new IllegalArgumentException("normalisation is required");
        }
        if (normalisation == Normalisation.ZSCORE && (!(std > 0) || !Double.isFinite(std) || !Double.isFinite(mean))) {
            throw new IllegalArgumentException("z-score normalisation needs a finite mean and std > 0, got " + mean + ", " + std);
        }
        if (reorientation == null) {
            throw new IllegalArgumentException("reorientation is required");
        }
        size = size.clone();
        spacingMm = spacingMm.clone();
    }

    /**
     * @param r along which axes the network grid lies
     * @return this spec with that reorientation
     */
    public PreprocessingSpec withReorientation(Reorientation r) {
        return new PreprocessingSpec(size, spacingMm, marginMm, huLow, huHigh, normalisation, mean, std, r);
    }

    @Override
    public int[] size() {
        return size.clone();
    }

    @Override
    public double[] spacingMm() {
        return spacingMm.clone();
    }

    /**
     * @param hu an interpolated HU value
     * @return the network value: clipped to the window, then normalised
     */
    public float normalise(double hu) {
        double c = Math.clamp(hu, huLow, huHigh);
        return (float) (normalisation == Normalisation.ZSCORE ? (c - mean) / std : (c - huLow) / (huHigh - huLow));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PreprocessingSpec p && Arrays.equals(size, p.size) && Arrays.equals(spacingMm, p.spacingMm)
            && marginMm == p.marginMm && huLow == p.huLow && huHigh == p.huHigh && normalisation == p.normalisation
            && mean == p.mean && std == p.std && reorientation == p.reorientation;
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(size) * 31 + Arrays.hashCode(spacingMm);
    }

    @Override
    public String toString() {
        return "PreprocessingSpec[size " + Arrays.toString(size) + " (D,H,W), spacing " + Arrays.toString(spacingMm)
            + " mm (z,y,x), margin " + marginMm + " mm, HU " + huLow + ".." + huHigh + ", " + normalisation
            + (normalisation == Normalisation.ZSCORE ? " mean " + mean + " std " + std : "") + ", reorientation "
            + reorientation.label() + "]";
    }
}
