package org.renalmtl.loader;

/**
 * The consistency checks of a NIfTI header that decide whether its file can be read as one 3-D scalar volume,
 * each failing with a one-line {@link VolumeInputException} that names the file and the field. They run on the
 * header alone, before any voxel memory is allocated, so that a malformed file is bad input (CLI exit 2), never
 * an internal error or an allocation sized by garbage.
 */
final class NiftiHeaderChecks {

    /** nifti1.h codes of the types {@link NiftiDataType} leaves out, to name them in messages. */
    private static final int[] UNSUPPORTED_CODES = {0, 1, 32, 128, 1536, 1792, 2048, 2304};
    private static final String[] UNSUPPORTED_NAMES = {
        "DT_UNKNOWN", "DT_BINARY", "DT_COMPLEX64", "DT_RGB24", "DT_FLOAT128", "DT_COMPLEX128", "DT_COMPLEX256", "DT_RGBA32"};

    private NiftiHeaderChecks() {
    }

    /**
     * @param code   the datatype field
     * @param bitpix the bitpix field
     * @param source file name for messages
     * @return the type, when supported and bitpix agrees with it
     */
    static NiftiDataType dataType(int code, int bitpix, String source) {
        NiftiDataType type = NiftiDataType.fromCode(code);
        if (type == null) {
            String name = "not a nifti1.h type";
            for (int i = 0; i < UNSUPPORTED_CODES.length; i++) {
                if (UNSUPPORTED_CODES[i] == code) {
                    name = UNSUPPORTED_NAMES[i];
                }
            }
            throw new VolumeInputException(source + ": unsupported NIfTI datatype " + code + " (" + name
                + "; supported: uint8, int8, int16, uint16, int32, uint32, int64, uint64, float32, float64)");
        }
        if (bitpix != 8 * type.bytes()) {
            throw new VolumeInputException(source + ": bitpix " + bitpix + " does not match datatype " + type
                + " (" + 8 * type.bytes() + " bits)");
        }
        return type;
    }

    /**
     * vox_offset as stored; NIfTI-1 stores it as a float. A single file holds the header and the 4-byte
     * extension flag before the voxels, so the voxels cannot start before 352 (NIfTI-1) or 544 (NIfTI-2);
     * nifti1.h asks for that, and 0 (which readers resolve differently: nibabel would read the header bytes as
     * voxels) is refused with the rest.
     *
     * @param stored  the field's value
     * @param version 1 or 2
     * @param source  file name for messages
     * @return the offset of the first voxel
     */
    static long voxOffset(double stored, int version, String source) {
        long min = (version == 1 ? NiftiHeader.NIFTI1_SIZE : NiftiHeader.NIFTI2_SIZE) + 4;
        if (!(stored >= min) || stored != Math.rint(stored) || stored > Long.MAX_VALUE / 2) {
            throw new VolumeInputException(source + ": vox_offset " + format(stored) + " is not a valid voxel data offset"
                + " (a single-file NIfTI-" + version + " needs a whole number of at least " + min + ")");
        }
        return (long) stored;
    }

    /**
     * Checks that the header describes one 3-D scalar volume of a size that can be held.
     *
     * @param h         the header
     * @param maxVoxels the largest voxel count accepted
     * @param source    file name for messages
     */
    static void dimensions(NiftiHeader h, long maxVoxels, String source) {
        long[] dim = h.dim();
        long nd = dim[0];
        if (nd < 1 || nd > 7) {
            throw new VolumeInputException(source + ": header claims " + nd + " dimensions (dim[0] must be 1..7)");
        }
        for (int i = 1; i <= nd; i++) {
            if (dim[i] < 1) {
                throw new VolumeInputException(source + ": header claims dim[" + i + "] = " + dim[i] + " (must be at least 1)");
            }
        }
        for (int i = 4; i <= nd; i++) {
            if (dim[i] != 1) {
                throw new VolumeInputException(source + ": " + nd + "-D image with dim[" + i + "] = " + dim[i]
                    + "; only 3-D volumes are supported (give each phase as its own file)");
            }
        }
        long total = 1;
        for (int i = 1; i <= Math.min(3, nd); i++) {
            if (dim[i] > Integer.MAX_VALUE || total > maxVoxels / dim[i]) {
                throw new VolumeInputException(source + ": header claims absurd dimensions " + h.dimString()
                    + " (more than " + maxVoxels + " voxels)");
            }
            total *= dim[i];
        }
    }

    /**
     * Checks that the declared voxels fit in the file, before anything is allocated. An uncompressed file must
     * hold them all; a gzip file cannot expand more than deflate's 1032:1 (zlib's technical details), so a header
     * claiming more is refused here and a smaller shortfall when the inflated data ends early.
     *
     * @param h        the checked header ({@link #dimensions} passed)
     * @param fileSize the file's size in bytes
     * @param gzip     whether the file is gzip-compressed
     * @param source   file name for messages
     */
    static void fitsInFile(NiftiHeader h, long fileSize, boolean gzip, String source) {
        long voxelBytes = h.voxelCount() * h.dataType().bytes(); // at most 2^31 * 8 after dimensions()
        long capacity = gzip ? fileSize * 1032 + 4096 : fileSize;
        if (h.voxOffset() > capacity - voxelBytes) { // no overflow: vox_offset <= 2^62, capacity < 2^53
            long needed = Math.addExact(h.voxOffset(), voxelBytes);
            throw new VolumeInputException(source + (gzip
                ? ": header claims " + h.dimString() + " " + h.dataType() + " voxels at offset " + h.voxOffset()
                    + " (" + needed + " bytes) but a gzip file of " + fileSize + " bytes cannot hold that many"
                : ": truncated: header needs " + needed + " bytes (vox_offset " + h.voxOffset() + " + "
                    + voxelBytes + " bytes of voxels), file has " + fileSize));
        }
    }

    /**
     * Voxel sizes, where the geometry is built from them (qform or no transform): finite and positive, as
     * nifti1.h requires and nibabel's get_qform enforces.
     *
     * @param pixdim pixdim[0..7]
     * @param source file name for messages
     */
    static void pixdim(double[] pixdim, String source) {
        for (int i = 1; i <= 3; i++) {
            if (!(pixdim[i] > 0) || !Double.isFinite(pixdim[i])) {
                throw new VolumeInputException(source + ": pixdim[" + i + "] = " + format(pixdim[i])
                    + " (voxel sizes pixdim[1..3] must be finite and positive)");
            }
        }
    }

    /**
     * @param a a (4, 4) row-major affine, last row 0 0 0 1
     * @return whether it and its inverse are finite and it is not (numerically) singular; huge or tiny voxel
     *     sizes fail here rather than in {@link Geometry} or in the resampler
     */
    static boolean invertible(double[] a) {
        for (int i = 0; i < 12; i++) {
            if (!Double.isFinite(a[i])) {
                return false;
            }
        }
        double det = a[0] * (a[5] * a[10] - a[6] * a[9]) - a[1] * (a[4] * a[10] - a[6] * a[8]) + a[2] * (a[4] * a[9] - a[5] * a[8]);
        if (!Double.isFinite(det) || Math.abs(det) <= 1e-12) {
            return false;
        }
        for (double v : Geometry.invert(a)) {
            if (!Double.isFinite(v)) {
                return false;
            }
        }
        return true;
    }

    private static String format(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : Double.toString(v);
    }
}
