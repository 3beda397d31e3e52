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
     * The direction each voxel axis points to, as nibabel's {@code aff2axcodes}: the world axis and sign of
     * {@link #closestAxes()} for i, j, k, as 'R'/'L', 'A'/'P' or 'S'/'I'.
     *
     * @return three letters, e.g. "RAS" or "LPS"
     */
    public String orientation() {
        String pos = "RAS";
        String neg = "LPI";
        int[][] o = closestAxes();
        StringBuilder sb = new StringBuilder(3);
        for (int[] axis : o) {
            sb.append(axis[1] > 0 ? pos.charAt(axis[0]) : neg.charAt(axis[0]));
        }
        return sb.toString();
    }

    /**
     * The world axis closest to each voxel axis, as nibabel's {@code io_orientation} finds it: the affine's 3×3
     * part with unit columns is replaced by the nearest orthogonal matrix R (its polar factor, by Newton's iteration
     * X ← (X + X⁻ᵀ)/2, which equals nibabel's U·Vᵀ from the SVD); then for i, j, k in turn the world axis with the
     * largest |R| entry in that voxel axis's column (the first on ties), whose row is then zeroed so that no two
     * voxel axes take the same world axis.
     *
     * @return for voxel axes i, j, k: {world axis 0/1/2 = x/y/z, sign +1/-1}
     */
    public int[][] closestAxes() {
        double[] s = spacing();
        double[][] x = new double[3][3]; // (world row, voxel column)
        for (int r = 0; r < 3; r++) {
            for (int c = 0; c < 3; c++) {
                x[r][c] = affine[r * 4 + c] / s[c];
            }
        }
        for (int it = 0; it < 100; it++) {
            double[][] invT = inverseTranspose(x);
            double change = 0;
            for (int r = 0; r < 3; r++) {
                for (int c = 0; c < 3; c++) {
                    double v = (x[r][c] + invT[r][c]) / 2;
                    change = Math.max(change, Math.abs(v - x[r][c]));
                    x[r][c] = v;
                }
            }
            if (change < 1e-15) {
                break;
            }
        }
        int[][] out = new int[3][];
        for (int c = 0; c < 3; c++) {
            int best = 0;
            for (int r = 1; r < 3; r++) {
                if (Math.abs(x[r][c]) > Math.abs(x[best][c])) {
                    best = r;
                }
            }
            out[c] = new int[] {best, x[best][c] < 0 ? -1 : 1};
            x[best] = new double[3];
        }
        return out;
    }

    private static double[][] inverseTranspose(double[][] m) {
        double det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
            - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
            + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
        double[][] r = new double[3][3]; // cofactor matrix / det = (m^-1)^T
        for (int i = 0; i < 3; i++) {
            for (int j = 0; j < 3; j++) {
                int i1 = (i + 1) % 3;
                int i2 = (i + 2) % 3;
                int j1 = (j + 1) % 3;
                int j2 = (j + 2) % 3;
                r[i][j] = (m[i1][j1] * m[i2][j2] - m[i1][j2] * m[i2][j1]) / det;
            }
        }
        return r;
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
