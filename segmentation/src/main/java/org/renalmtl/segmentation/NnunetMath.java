package org.renalmtl.segmentation;

/**
 * The small integer decisions nnU-Net makes about shapes, with its exact rounding: target shapes, the
 * separate-z choice, sliding-window positions and padding.
 */
public final class NnunetMath {

    private NnunetMath() {
    }

    /**
     * {@code compute_new_shape}: {@code int(round(old_spacing / new_spacing * old_shape))} per axis, with
     * Python's round (half to even), so 22.5 becomes 22.
     *
     * @param oldShape   (3) voxels
     * @param oldSpacing (3) mm
     * @param newSpacing (3) mm
     * @return (3) the new shape
     */
    public static int[] newShape(int[] oldShape, double[] oldSpacing, double[] newSpacing) {
        int[] s = new int[3];
        for (int a = 0; a < 3; a++) {
            s[a] = (int) Math.rint(oldSpacing[a] / newSpacing[a] * oldShape[a]);
            if (s[a] < 1) {
                throw new IllegalArgumentException("resampling " + oldShape[a] + " voxels of " + oldSpacing[a]
                    + " mm to " + newSpacing[a] + " mm leaves no voxel");
            }
        }
        return s;
    }

    /**
     * {@code determine_do_sep_z_and_axis}: whether to resample the low-resolution axis separately and which axis
     * that is, or -1 for plain 3-D resampling. Decided on the current spacing first, then on the new one; an
     * axis tie (two or three axes at the maximum spacing) means no separate z.
     *
     * @param kw             resampling settings (force_separate_z, threshold)
     * @param currentSpacing (3) mm
     * @param newSpacing     (3) mm
     * @return the low-resolution axis 0..2, or -1
     */
    public static int separateZAxis(ResamplingKwargs kw, double[] currentSpacing, double[] newSpacing) {
        double[] basis;
        if (kw.forceSeparateZ() != null) {
            if (!kw.forceSeparateZ()) {
                return -1;
            }
            basis = currentSpacing;
        } else if (anisotropic(currentSpacing, kw.separateZAnisotropyThreshold())) {
            basis = currentSpacing;
        } else if (anisotropic(newSpacing, kw.separateZAnisotropyThreshold())) {
            basis = newSpacing;
        } else {
            return -1;
        }
        // get_lowres_axis: the axes where max(spacing) / spacing == 1; exactly one, or no separate z
        double max = Math.max(basis[0], Math.max(basis[1], basis[2]));
        int axis = -1;
        int count = 0;
        for (int a = 0; a < 3; a++) {
            if (max / basis[a] == 1.0) {
                axis = a;
                count++;
            }
        }
        return count == 1 ? axis : -1;
    }

    private static boolean anisotropic(double[] spacing, double threshold) {
        double max = Math.max(spacing[0], Math.max(spacing[1], spacing[2]));
        double min = Math.min(spacing[0], Math.min(spacing[1], spacing[2]));
        return max / min > threshold;
    }

    /**
     * {@code compute_steps_for_sliding_window} for one axis: {@code n = ceil((size - patch) / (step·patch)) + 1}
     * tiles, at {@code round(i·(size - patch)/(n - 1))} (half to even).
     *
     * @param size     padded image size (at least the patch)
     * @param patch    tile size
     * @param stepSize tile step as a fraction of the patch (0.5 in nnU-Net)
     * @return tile start positions
     */
    public static int[] steps(int size, int patch, double stepSize) {
        if (size < patch) {
            throw new IllegalArgumentException("image size " + size + " is smaller than the patch " + patch);
        }
        double target = patch * stepSize;
        int n = (int) Math.ceil((size - patch) / target) + 1;
        int maxStep = size - patch;
        double actual = n > 1 ? (double) maxStep / (n - 1) : 99999999999.0;
        int[] steps = new int[n];
        for (int i = 0; i < n; i++) {
            steps[i] = (int) Math.rint(actual * i);
        }
        return steps;
    }

    /**
     * {@code pad_nd_image}'s split: pad only up to the patch, {@code (patch - size) // 2} voxels before and the
     * rest (one more for an odd difference) after.
     *
     * @param size  image size along one axis
     * @param patch patch size along that axis
     * @return voxels padded before the image (0 when the image is at least the patch)
     */
    public static int padBefore(int size, int patch) {
        return Math.max(patch - size, 0) / 2;
    }
}
