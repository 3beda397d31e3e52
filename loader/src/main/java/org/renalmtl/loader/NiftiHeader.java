package org.renalmtl.loader;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * The fields of a NIfTI-1 (348-byte) or NIfTI-2 (540-byte) header that matter for scalar 3-D images, with
 * NIfTI-2's wider types (int64 dims, float64 fields) used for both.
 *
 * @param version    1 or 2
 * @param byteOrder  byte order of the header and the voxels
 * @param dim        dim[0..7] as in the header (dim[0] = number of dimensions)
 * @param dataType   voxel type
 * @param pixdim     pixdim[0..7] (pixdim[0] is qfac)
 * @param voxOffset  byte offset of the first voxel in the file (after the header and any extensions)
 * @param sclSlope   scl_slope as stored (0 or NaN means "no scaling")
 * @param sclInter   scl_inter as stored
 * @param qformCode  qform_code
 * @param sformCode  sform_code
 * @param quatern    quatern_b, quatern_c, quatern_d, qoffset_x, qoffset_y, qoffset_z
 * @param srow       srow_x, srow_y, srow_z (12 values, row-major 3×4)
 * @param xyztUnits  xyzt_units byte (spatial unit in its low 3 bits: 1 m, 2 mm, 3 µm, 0 unknown)
 * @param descrip    the descrip string
 */
public record NiftiHeader(int version, ByteOrder byteOrder, long[] dim, NiftiDataType dataType, double[] pixdim,
                          long voxOffset, double sclSlope, double sclInter, int qformCode, int sformCode,
                          double[] quatern, double[] srow, int xyztUnits, String descrip) {

    /** Size of a NIfTI-1 header in bytes. */
    public static final int NIFTI1_SIZE = 348;
    /** Size of a NIfTI-2 header in bytes. */
    public static final int NIFTI2_SIZE = 540;

    /** Copies the arrays so that the record is immutable. */
    public NiftiHeader {
        dim = dim.clone();
        pixdim = pixdim.clone();
        quatern = quatern.clone();
        srow = srow.clone();
    }

    @Override
    public long[] dim() {
        return dim.clone();
    }

    @Override
    public double[] pixdim() {
        return pixdim.clone();
    }

    @Override
    public double[] quatern() {
        return quatern.clone();
    }

    @Override
    public double[] srow() {
        return srow.clone();
    }

    /** @return dim[1], the number of voxels along x; 1 when dim[0] &lt; 1 (the field is then unused) */
    public int nx() {
        return dim[0] >= 1 ? (int) dim[1] : 1;
    }

    /** @return dim[2], the number of voxels along y; 1 when dim[0] &lt; 2 (the field is then unused) */
    public int ny() {
        return dim[0] >= 2 ? (int) dim[2] : 1;
    }

    /** @return dim[3], the number of voxels along z; 1 when dim[0] &lt; 3 (the field is then unused) */
    public int nz() {
        return dim[0] >= 3 ? (int) dim[3] : 1;
    }

    /** @return the slope actually applied: scl_slope, or 1 when it is 0 or not finite (nifti1.h: no scaling) */
    public double effectiveSlope() {
        return sclSlope == 0 || !Double.isFinite(sclSlope) ? 1 : sclSlope;
    }

    /** @return the intercept actually applied: scl_inter, or 0 when scaling is off or it is not finite */
    public double effectiveInter() {
        return sclSlope == 0 || !Double.isFinite(sclSlope) || !Double.isFinite(sclInter) ? 0 : sclInter;
    }

    /**
     * Peeks at the first four bytes (sizeof_hdr) to learn the version and byte order.
     *
     * @param first4 the first four bytes of the (decompressed) file
     * @param source file name for messages
     * @return {version, 0 for little or 1 for big endian}
     */
    static int[] sniff(byte[] first4, String source) {
        ByteBuffer b = ByteBuffer.wrap(first4);
        for (ByteOrder order : new ByteOrder[] {ByteOrder.LITTLE_ENDIAN, ByteOrder.BIG_ENDIAN}) {
            int size = b.order(order).getInt(0);
            if (size == NIFTI1_SIZE || size == NIFTI2_SIZE) {
                return new int[] {size == NIFTI1_SIZE ? 1 : 2, order == ByteOrder.LITTLE_ENDIAN ? 0 : 1};
            }
        }
        throw new VolumeInputException(source + ": not a NIfTI file (sizeof_hdr is " + b.order(ByteOrder.LITTLE_ENDIAN).getInt(0)
            + " little endian, " + b.order(ByteOrder.BIG_ENDIAN).getInt(0) + " big endian; neither is 348 or 540)");
    }

    /**
     * Parses a complete header.
     *
     * @param bytes   348 or 540 bytes
     * @param version 1 or 2
     * @param order   byte order found by {@link #sniff}
     * @param source  file name for messages
     * @return the header; its fields are checked for the problems that would break reading
     */
    static NiftiHeader parse(byte[] bytes, int version, ByteOrder order, String source) {
        ByteBuffer b = ByteBuffer.wrap(bytes).order(order);
        long[] dim = new long[8];
        double[] pixdim = new double[8];
        double[] quatern = new double[6];
        double[] srow = new double[12];
        int dataTypeCode;
        int bitpix;
        double voxOffset;
        double slope;
        double inter;
        int qform;
        int sform;
        int units;
        String descrip;
        if (version == 1) {
            String magic = ascii(bytes, 344, 4);
            if (magic.equals("ni1")) {
                throw new VolumeInputException(source + ": NIfTI-1 pair (.hdr/.img) files are not supported; convert to a single .nii or .nii.gz");
            }
            if (!magic.equals("n+1")) {
                throw new VolumeInputException(source + ": wrong NIfTI-1 magic '" + printable(bytes, 344, 4) + "' (expected 'n+1')");
            }
            for (int i = 0; i < 8; i++) {
                dim[i] = b.getShort(40 + 2 * i);
                pixdim[i] = b.getFloat(76 + 4 * i);
            }
            dataTypeCode = b.getShort(70);
            bitpix = b.getShort(72);
            voxOffset = b.getFloat(108);
            slope = b.getFloat(112);
            inter = b.getFloat(116);
            units = bytes[123] & 0xff;
            descrip = ascii(bytes, 148, 80);
            qform = b.getShort(252);
            sform = b.getShort(254);
            for (int i = 0; i < 6; i++) {
                quatern[i] = b.getFloat(256 + 4 * i);
            }
            for (int i = 0; i < 12; i++) {
                srow[i] = b.getFloat(280 + 4 * i);
            }
        } else {
            String magic = ascii(bytes, 4, 3);
            if (!magic.equals("n+2") || bytes[7] != 0 || bytes[8] != '\r' || bytes[9] != '\n' || bytes[10] != 0x1a || bytes[11] != '\n') {
                throw new VolumeInputException(source + ": wrong NIfTI-2 magic '" + printable(bytes, 4, 8) + "' (expected 'n+2\\0\\r\\n\\032\\n')");
            }
            dataTypeCode = b.getShort(12);
            bitpix = b.getShort(14);
            for (int i = 0; i < 8; i++) {
                dim[i] = b.getLong(16 + 8 * i);
                pixdim[i] = b.getDouble(104 + 8 * i);
            }
            voxOffset = b.getLong(168);
            slope = b.getDouble(176);
            inter = b.getDouble(184);
            descrip = ascii(bytes, 240, 80);
            qform = b.getInt(344);
            sform = b.getInt(348);
            for (int i = 0; i < 6; i++) {
                quatern[i] = b.getDouble(352 + 8 * i);
            }
            for (int i = 0; i < 12; i++) {
                srow[i] = b.getDouble(400 + 8 * i);
            }
            units = b.getInt(500);
        }
        NiftiDataType type = NiftiHeaderChecks.dataType(dataTypeCode, bitpix, source);
        long offset = NiftiHeaderChecks.voxOffset(voxOffset, version, source);
        return new NiftiHeader(version, order, dim, type, pixdim, offset, slope, inter, qform, sform,
            quatern, srow, units, descrip);
    }

    /** @return the number of voxels in the 3-D volume (dims beyond dim[0] count as 1) */
    long voxelCount() {
        long n = 1;
        for (int i = 1; i <= Math.min(3, dim[0]); i++) {
            n *= dim[i];
        }
        return n;
    }

    /** @return the spatial dims as "nx x ny x nz" */
    String dimString() {
        StringBuilder sb = new StringBuilder();
        for (int i = 1; i <= Math.max(1, Math.min(7, dim[0])); i++) {
            sb.append(i > 1 ? "x" : "").append(dim[i]);
        }
        return sb.toString();
    }

    /**
     * The voxel-to-world affine as nibabel's {@code get_best_affine}: the sform when sform_code &gt; 0, else
     * the qform when qform_code &gt; 0, else nifti1.h method 1 (diag(pixdim), origin 0; nibabel's Analyze-style
     * fallback flips x and centres the grid, which no scanner output relies on). A set but unusable sform
     * (singular, e.g. all zeros, or not finite) falls back to a usable qform, as some broken writers need.
     * Lengths are converted to mm when xyzt_units says metres or micrometres; unknown units are taken as mm.
     *
     * @param source file name for messages
     * @return the geometry
     * @throws VolumeInputException when the chosen transform or its inverse is singular or not finite, or when
     *     it is built from pixdim (qform or fallback) and pixdim[1..3] are not finite and positive
     */
    public Geometry geometry(String source) {
        if (sformCode > 0) {
            double[] sform = usable(sformAffine());
            if (sform != null) {
                return new Geometry(sform, qformCode, sformCode);
            }
            if (qformCode <= 0) {
                throw new VolumeInputException(source + ": voxel-to-world affine is singular or not finite (check srow)");
            }
        }
        // The qform and the fallback both scale by the voxel sizes.
        NiftiHeaderChecks.pixdim(pixdim, source);
        double[] a = usable(qformCode > 0 ? qformAffine() : pixdimAffine());
        if (a == null) {
            throw new VolumeInputException(source + ": voxel-to-world affine is singular or not finite (check "
                + (sformCode > 0 ? "srow and " : "") + (qformCode > 0 ? "quatern/qoffset/pixdim" : "pixdim[1..3]") + ")");
        }
        return new Geometry(a, qformCode, sformCode);
    }

    private double unitToMm() {
        return switch (xyztUnits & 7) {
            case 1 -> 1000.0;
            case 3 -> 0.001;
            default -> 1.0;
        };
    }

    /** @return the affine in mm when it and its inverse are finite and it is not singular, else null */
    private double[] usable(double[] a) {
        double unit = unitToMm();
        for (int i = 0; i < 12; i++) {
            a[i] *= unit;
        }
        a[15] = 1;
        return NiftiHeaderChecks.invertible(a) ? a : null;
    }

    private double[] sformAffine() {
        double[] a = new double[16];
        System.arraycopy(srow, 0, a, 0, 12);
        return a;
    }

    private double[] pixdimAffine() {
        double[] a = new double[16];
        a[0] = pixdim[1];
        a[5] = pixdim[2];
        a[10] = pixdim[3];
        return a;
    }

    /** nifti1.h method 2: rotation from the quaternion (b, c, d), scaled by pixdim, qfac on the third axis. */
    private double[] qformAffine() {
        double qb = quatern[0];
        double qc = quatern[1];
        double qd = quatern[2];
        double qa = 1.0 - (qb * qb + qc * qc + qd * qd);
        // nifti1.h: a is computed from b, c, d; rounding can make 1 - (b²+c²+d²) slightly negative.
        if (qa < 1e-7) {
            double n = Math.sqrt(qb * qb + qc * qc + qd * qd);
            qb /= n;
            qc /= n;
            qd /= n;
            qa = 0;
        } else {
            qa = Math.sqrt(qa);
        }
        double qfac = pixdim[0] < 0 ? -1 : 1;
        double[] d = {pixdim[1], pixdim[2], pixdim[3] * qfac};
        double[] r = {
            qa * qa + qb * qb - qc * qc - qd * qd, 2 * (qb * qc - qa * qd), 2 * (qb * qd + qa * qc),
            2 * (qb * qc + qa * qd), qa * qa + qc * qc - qb * qb - qd * qd, 2 * (qc * qd - qa * qb),
            2 * (qb * qd - qa * qc), 2 * (qc * qd + qa * qb), qa * qa + qd * qd - qc * qc - qb * qb};
        double[] a = new double[16];
        for (int row = 0; row < 3; row++) {
            for (int col = 0; col < 3; col++) {
                a[row * 4 + col] = r[row * 3 + col] * d[col];
            }
            a[row * 4 + 3] = quatern[3 + row];
        }
        return a;
    }

    private static String ascii(byte[] b, int off, int len) {
        int end = off;
        while (end < off + len && b[end] != 0) {
            end++;
        }
        return new String(b, off, end - off, StandardCharsets.US_ASCII);
    }

    private static String printable(byte[] b, int off, int len) {
        StringBuilder sb = new StringBuilder();
        for (int i = off; i < off + len; i++) {
            int c = b[i] & 0xff;
            if (c >= 32 && c < 127) {
                sb.append((char) c);
            } else {
                sb.append(String.format("\\x%02x", c));
            }
        }
        return sb.toString();
    }
}
