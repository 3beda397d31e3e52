package org.renalmtl.loader;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.GZIPOutputStream;

/**
 * Builds NIfTI files byte by byte for tests, independently of {@link NiftiWriter}: fields are placed at the
 * offsets of nifti1.h / nifti2.h, so that the reader is checked against the format, not against our writer.
 */
final class NiftiBytes {
    int version = 1;
    ByteOrder order = ByteOrder.LITTLE_ENDIAN;
    NiftiDataType type = NiftiDataType.FLOAT32;
    long[] dim = {3, 4, 3, 2, 1, 1, 1, 1};
    double[] pixdim = {1, 1, 1, 1, 1, 1, 1, 1};
    double slope = 1;
    double inter = 0;
    int qformCode = 0;
    int sformCode = 0;
    double[] quatern = new double[6]; // b, c, d, qoffset x, y, z
    double[] srow = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0};
    double[] values = new double[24]; // stored (unscaled) voxel values, x fastest
    String magic; // null: the right one for the version
    int units = 2;
    int extensionBytes = 0; // bytes of (opaque) header extensions between the header and the voxels

    byte[] build() {
        int hs = version == 1 ? 348 : 540;
        int offset = hs + 4 + extensionBytes;
        ByteBuffer b = ByteBuffer.allocate(offset + values.length * type.bytes()).order(order);
        b.putInt(0, hs);
        if (version == 1) {
            for (int i = 0; i < 8; i++) {
                b.putShort(40 + 2 * i, (short) dim[i]);
                b.putFloat(76 + 4 * i, (float) pixdim[i]);
            }
            b.putShort(70, (short) type.code());
            b.putShort(72, (short) (8 * type.bytes()));
            b.putFloat(108, offset);
            b.putFloat(112, (float) slope);
            b.putFloat(116, (float) inter);
            b.put(123, (byte) units);
            b.putShort(252, (short) qformCode);
            b.putShort(254, (short) sformCode);
            for (int i = 0; i < 6; i++) {
                b.putFloat(256 + 4 * i, (float) quatern[i]);
            }
            for (int i = 0; i < 12; i++) {
                b.putFloat(280 + 4 * i, (float) srow[i]);
            }
            byte[] m = (magic == null ? "n+1\0" : magic).getBytes();
            b.put(344, m, 0, Math.min(4, m.length));
        } else {
            byte[] m = magic == null ? new byte[] {'n', '+', '2', 0, '\r', '\n', 0x1a, '\n'} : magic.getBytes();
            b.put(4, m, 0, Math.min(8, m.length));
            b.putShort(12, (short) type.code());
            b.putShort(14, (short) (8 * type.bytes()));
            for (int i = 0; i < 8; i++) {
                b.putLong(16 + 8 * i, dim[i]);
                b.putDouble(104 + 8 * i, pixdim[i]);
            }
            b.putLong(168, offset);
            b.putDouble(176, slope);
            b.putDouble(184, inter);
            b.putInt(344, qformCode);
            b.putInt(348, sformCode);
            for (int i = 0; i < 6; i++) {
                b.putDouble(352 + 8 * i, quatern[i]);
            }
            for (int i = 0; i < 12; i++) {
                b.putDouble(400 + 8 * i, srow[i]);
            }
            b.putInt(500, units);
        }
        if (extensionBytes > 0) {
            b.put(hs, (byte) 1); // extension flag: extensions follow
            for (int i = hs + 4; i < offset; i++) {
                b.put(i, (byte) 0x5a);
            }
        }
        b.position(offset);
        for (double v : values) {
            switch (type) {
                case UINT8, INT8 -> b.put((byte) (long) v);
                case INT16, UINT16 -> b.putShort((short) (long) v);
                case INT32, UINT32 -> b.putInt((int) (long) v);
                case INT64, UINT64 -> b.putLong((long) v);
                case FLOAT32 -> b.putFloat((float) v);
                case FLOAT64 -> b.putDouble(v);
            }
        }
        return b.array();
    }

    static byte[] gzip(byte[] raw) {
        try {
            ByteArrayOutputStream bo = new ByteArrayOutputStream();
            try (GZIPOutputStream g = new GZIPOutputStream(bo)) {
                g.write(raw);
            }
            return bo.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
