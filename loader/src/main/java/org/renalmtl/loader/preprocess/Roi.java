package org.renalmtl.loader.preprocess;

import java.util.Arrays;

/**
 * The tumour region the network input was taken from, for the report.
 *
 * @param maskLo         inclusive lower corner of the selected mask voxels' bounding box, (z, y, x) voxel
 *                       indices of the reference phase
 * @param maskHi         inclusive upper corner, (z, y, x)
 * @param boxLo          lower corner of that box grown by the margin, (z, y, x) continuous reference voxel
 *                       coordinates (voxel edges: mask box edge minus margin)
 * @param boxHi          upper corner, (z, y, x) continuous reference voxel coordinates
 * @param worldMin       lower corner of the axis-aligned world box containing the margin box, (x, y, z) mm RAS+
 * @param worldMax       upper corner, (x, y, z) mm RAS+
 * @param maskVoxels     number of selected mask voxels
 * @param components     connected components among the mask's non-zero voxels (1 when a label was chosen)
 */
public record Roi(int[] maskLo, int[] maskHi, double[] boxLo, double[] boxHi, double[] worldMin, double[] worldMax,
                  int maskVoxels, int components) {

    /** Copies the arrays. */
    public Roi {
        maskLo = maskLo.clone();
        maskHi = maskHi.clone();
        boxLo = boxLo.clone();
        boxHi = boxHi.clone();
        worldMin = worldMin.clone();
        worldMax = worldMax.clone();
    }

    @Override
    public int[] maskLo() {
        return maskLo.clone();
    }

    @Override
    public int[] maskHi() {
        return maskHi.clone();
    }

    @Override
    public double[] boxLo() {
        return boxLo.clone();
    }

    @Override
    public double[] boxHi() {
        return boxHi.clone();
    }

    @Override
    public double[] worldMin() {
        return worldMin.clone();
    }

    @Override
    public double[] worldMax() {
        return worldMax.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Roi r && Arrays.equals(maskLo, r.maskLo) && Arrays.equals(maskHi, r.maskHi)
            && Arrays.equals(boxLo, r.boxLo) && Arrays.equals(boxHi, r.boxHi) && Arrays.equals(worldMin, r.worldMin)
            && Arrays.equals(worldMax, r.worldMax) && maskVoxels == r.maskVoxels && components == r.components;
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(maskLo) * 31 + Arrays.hashCode(maskHi);
    }

    @Override
    public String toString() {
        return "Roi[mask voxels (z,y,x) " + Arrays.toString(maskLo) + ".." + Arrays.toString(maskHi) + ", world (x,y,z) mm "
            + Arrays.toString(worldMin) + ".." + Arrays.toString(worldMax) + ", " + maskVoxels + " voxels, "
            + components + " component(s)]";
    }
}
