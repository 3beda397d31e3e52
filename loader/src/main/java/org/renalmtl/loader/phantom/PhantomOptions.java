package org.renalmtl.loader.phantom;

import java.util.Arrays;

/**
 * Shape of a synthetic case.
 *
 * @param nx               columns (x) of the arterial and venous grids
 * @param ny               rows (y)
 * @param nz               slices (z)
 * @param spacingMm        voxel size (x, y, z) in mm of the arterial and venous grids
 * @param tumourSemiAxesMm tumour ellipsoid semi-axes (x, y, z) in mm, along the world axes
 * @param noiseSdHu        standard deviation of the Gaussian noise added to every image voxel, HU
 * @param shiftedDelayed   when true the delayed phase lies on its own grid (3 mm slices, origin shifted
 *                         1.3 mm in z and 0.4 mm in x), as when a phase is reconstructed separately; otherwise
 *                         all phases share one grid
 */
public record PhantomOptions(int nx, int ny, int nz, double[] spacingMm, double[] tumourSemiAxesMm, double noiseSdHu,
                             boolean shiftedDelayed) {

    /** Checks the values and copies the arrays. */
    public PhantomOptions {
        if (nx < 8 || ny < 8 || nz < 4) {
            throw new IllegalArgumentException("phantom grid too small: " + nx + "x" + ny + "x" + nz);
        }
        if (spacingMm.length != 3 || Arrays.stream(spacingMm).anyMatch(s -> !(s > 0))) {
            throw new IllegalArgumentException("spacing must be three positive lengths, got " + Arrays.toString(spacingMm));
        }
        if (tumourSemiAxesMm.length != 3 || Arrays.stream(tumourSemiAxesMm).anyMatch(s -> !(s > 0))) {
            throw new IllegalArgumentException("tumour semi-axes must be three positive lengths, got " + Arrays.toString(tumourSemiAxesMm));
        }
        if (!(noiseSdHu >= 0)) {
            throw new IllegalArgumentException("noise SD must be >= 0, got " + noiseSdHu);
        }
        spacingMm = spacingMm.clone();
        tumourSemiAxesMm = tumourSemiAxesMm.clone();
    }

    /**
     * The default: 192×192×64 voxels of 0.8×0.8×2.5 mm (a 154×154×160 mm field of view, typical of a
     * reconstructed abdominal CT cropped around one kidney), a 32×28×42 mm tumour (max diameter 42 mm, R = 2),
     * 10 HU noise, all phases on one grid.
     *
     * @return the default options
     */
    public static PhantomOptions defaults() {
        return new PhantomOptions(192, 192, 64, new double[] {0.8, 0.8, 2.5}, new double[] {16, 14, 21}, 10, false);
    }

    /** @return a copy with other tumour semi-axes (x, y, z) in mm */
    public PhantomOptions withTumour(double[] semiAxesMm) {
        return new PhantomOptions(nx, ny, nz, spacingMm, semiAxesMm, noiseSdHu, shiftedDelayed);
    }

    /** @return a copy with the delayed phase on its own grid or not */
    public PhantomOptions withShiftedDelayed(boolean shifted) {
        return new PhantomOptions(nx, ny, nz, spacingMm, tumourSemiAxesMm, noiseSdHu, shifted);
    }

    /** @return a copy with another noise level */
    public PhantomOptions withNoise(double sdHu) {
        return new PhantomOptions(nx, ny, nz, spacingMm, tumourSemiAxesMm, sdHu, shiftedDelayed);
    }

    @Override
    public double[] spacingMm() {
        return spacingMm.clone();
    }

    @Override
    public double[] tumourSemiAxesMm() {
        return tumourSemiAxesMm.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PhantomOptions p && nx == p.nx && ny == p.ny && nz == p.nz && Arrays.equals(spacingMm, p.spacingMm)
            && Arrays.equals(tumourSemiAxesMm, p.tumourSemiAxesMm) && noiseSdHu == p.noiseSdHu && shiftedDelayed == p.shiftedDelayed;
    }

    @Override
    public int hashCode() {
        return ((nx * 31 + ny) * 31 + nz) * 31 + Arrays.hashCode(tumourSemiAxesMm);
    }

    @Override
    public String toString() {
        return "PhantomOptions[" + nx + "x" + ny + "x" + nz + " (x,y,z) at " + Arrays.toString(spacingMm) + " mm, tumour semi-axes "
            + Arrays.toString(tumourSemiAxesMm) + " mm, noise " + noiseSdHu + " HU" + (shiftedDelayed ? ", shifted delayed grid" : "") + "]";
    }
}
