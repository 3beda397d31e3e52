package org.renalmtl.loader;

import java.util.Arrays;

/**
 * Where a voxel grid lies in the world: the 4×4 voxel-to-world affine in millimetres, in the NIfTI RAS+
 * convention exactly as nibabel reports {@code img.affine} (x grows to the subject's right, y anterior,
 * z superior), plus the qform and sform codes of the file it came from.
 *
 * <p>The affine maps voxel indices {@code (i, j, k)} in NIfTI order, i.e. {@code i} along x (the fastest
 * axis in memory), {@code j} along y, {@code k} along z (slowest), to world {@code (x, y, z, 1)}. A
 * {@link Volume} stores its voxels as a (nz, ny, nx) array, so voxel {@code [z][y][x]} has
 * {@code (i, j, k) = (x, y, z)}.
 *
 * @param affine    (4, 4) row-major voxel (i, j, k, 1) → world (x, y, z, 1) in mm; last row 0 0 0 1
 * @param qformCode the file's qform_code (0 when the grid was made in memory)
 * @param sformCode the file's sform_code (0 when the grid was made in memory)
 */
public record Geometry(double[] affine, int qformCode, int sformCode) {

    /** Checks shape and invertibility and copies the array so that the record is immutable. */
    public Geometry {
        if (affine.length != 16) {
            throw new IllegalArgumentException("affine must have 16 entries, got " + affine.length);
        }
        affine = affine.clone();
        affine[12] = 0;
        affine[13] = 0;
        affine[14] = 0;
        affine[15] = 1;
        double det = det3(affine);
        if (!Double.isFinite(det) || Math.abs(det) < 1e-12) {
            throw new IllegalArgumentException("voxel-to-world affine is singular or not finite: " + Arrays.toString(affine));
        }
    }

    /**
     * A grid aligned with the world axes.
     *
     * @param spacingXyz voxel size along i, j, k in mm
     * @param originXyz  world position of voxel (0, 0, 0) in mm
     * @return the geometry, with qform and sform codes 0
     */
    public static Geometry axisAligned(double[] spacingXyz, double[] originXyz) {
        return new Geometry(new double[] {
            spacingXyz[0], 0, 0, originXyz[0],
            0, spacingXyz[1], 0, originXyz[1],
            0, 0, spacingXyz[2], originXyz[2],
            0, 0, 0, 1}, 0, 0);
    }

    /** @return a copy of the (4, 4) row-major affine */
    @Override
    public double[] affine() {
        return affine.clone();
    }

    /** @return the affine entry at row {@code r}, column {@code c} */
    public double at(int r, int c) {
        return affine[r * 4 + c];
    }

    /** @return voxel size in mm along i, j, k (x, y, z): the norms of the affine's first three columns */
    public double[] spacing() {
        double[] s = new double[3];
        for (int c = 0; c < 3; c++) {
            s[c] = Math.sqrt(affine[c] * affine[c] + affine[4 + c] * affine[4 + c] + affine[8 + c] * affine[8 + c]);
        }
        return s;
    }

    /** @return the volume of one voxel in mm³ (|det| of the affine's 3×3 part) */
    public double voxelVolumeMm3() {
        return Math.abs(det3(affine));
    }

    /**
     * @param i continuous index along x
     * @param j continuous index along y
     * @param k continuous index along z
     * @return world (x, y, z) in mm
     */
    public double[] toWorld(double i, double j, double k) {
        return new double[] {
            affine[0] * i + affine[1] * j + affine[2] * k + affine[3],
            affine[4] * i + affine[5] * j + affine[6] * k + affine[7],
            affine[8] * i + affine[9] * j + affine[10] * k + affine[11]};
    }

    /** @return the (4, 4) row-major world → voxel affine */
    public double[] inverse() {
        return invert(affine);
    }

    /**
     * The direction each voxel axis points to, as nibabel's {@code aff2axcodes}: for i, j, k the world axis
     * with the largest component of that column, 'R'/'L', 'A'/'P' or 'S'/'I' by its sign.
     *
     * @return three letters, e.g. "RAS" or "LPS"
     */
    public String orientation() {
        char[] pos = {'R', 'A', 'S'};
        char[] neg = {'L', 'P', 'I'};
        StringBuilder sb = new StringBuilder(3);
        for (int c = 0; c < 3; c++) {
            int best = 0;
            for (int r = 1; r < 3; r++) {
                if (Math.abs(affine[r * 4 + c]) > Math.abs(affine[best * 4 + c])) {
                    best = r;
                }
            }
            sb.append(affine[best * 4 + c] >= 0 ? pos[best] : neg[best]);
        }
        return sb.toString();
    }

    /**
     * A grid whose voxel {@code v} is this grid's continuous voxel {@code m · v}.
     *
     * @param voxelMap (4, 4) row-major map from the new grid's indices to this grid's indices
     * @return the geometry with affine {@code affine · voxelMap} and the same codes
     */
    public Geometry compose(double[] voxelMap) {
        return new Geometry(multiply(affine, voxelMap), qformCode, sformCode);
    }

    /**
     * @param a (4, 4) row-major
     * @param b (4, 4) row-major
     * @return a · b, (4, 4) row-major
     */
    public static double[] multiply(double[] a, double[] b) {
        double[] r = new double[16];
        for (int i = 0; i < 4; i++) {
            for (int j = 0; j < 4; j++) {
                double s = 0;
                for (int k = 0; k < 4; k++) {
                    s += a[i * 4 + k] * b[k * 4 + j];
                }
                r[i * 4 + j] = s;
            }
        }
        return r;
    }

    /**
     * Inverse of an affine 4×4 (last row 0 0 0 1).
     *
     * @param a (4, 4) row-major, last row 0 0 0 1
     * @return the inverse, (4, 4) row-major
     */
    public static double[] invert(double[] a) {
        double det = det3(a);
        double[] r = new double[16];
        r[0] = (a[5] * a[10] - a[6] * a[9]) / det;
        r[1] = (a[2] * a[9] - a[1] * a[10]) / det;
        r[2] = (a[1] * a[6] - a[2] * a[5]) / det;
        r[4] = (a[6] * a[8] - a[4] * a[10]) / det;
        r[5] = (a[0] * a[10] - a[2] * a[8]) / det;
        r[6] = (a[2] * a[4] - a[0] * a[6]) / det;
        r[8] = (a[4] * a[9] - a[5] * a[8]) / det;
        r[9] = (a[1] * a[8] - a[0] * a[9]) / det;
        r[10] = (a[0] * a[5] - a[1] * a[4]) / det;
        for (int i = 0; i < 3; i++) {
            r[i * 4 + 3] = -(r[i * 4] * a[3] + r[i * 4 + 1] * a[7] + r[i * 4 + 2] * a[11]);
        }
        r[15] = 1;
        return r;
    }

    private static double det3(double[] a) {
        return a[0] * (a[5] * a[10] - a[6] * a[9])
            - a[1] * (a[4] * a[10] - a[6] * a[8])
            + a[2] * (a[4] * a[9] - a[5] * a[8]);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Geometry g && Arrays.equals(affine, g.affine)
            && qformCode == g.qformCode && sformCode == g.sformCode;
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(affine) * 31 + qformCode * 7 + sformCode;
    }

    @Override
    public String toString() {
        return "Geometry[" + orientation() + ", spacing " + Arrays.toString(spacing()) + ", affine "
            + Arrays.toString(affine) + ", qform " + qformCode + ", sform " + sformCode + "]";
    }
}
