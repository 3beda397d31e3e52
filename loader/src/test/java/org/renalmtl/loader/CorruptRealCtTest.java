package org.renalmtl.loader;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.function.Consumer;
import java.util.zip.DataFormatException;
import java.util.zip.GZIPInputStream;
import java.util.zip.Inflater;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 9's malformed files, each made from the real CT (example_ct_sm: NIfTI-1, 122×101×30 int16, sform code 2,
 * qform code 0) by byte edits: every one is refused with a one-line {@link VolumeInputException} naming the file
 * and the problem, and the deliberate gzip choices (several members, zero padding) read as the original.
 */
class CorruptRealCtTest {

    private static byte[] gz;  // the file as distributed
    private static byte[] raw; // its uncompressed NIfTI bytes

    @TempDir
    Path dir;

    @BeforeAll
    static void load() throws IOException {
        gz = Files.readAllBytes(TestData.ct().resolve("example_ct_sm.nii.gz"));
        try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(gz))) {
            raw = in.readAllBytes();
        }
    }

    private Path write(String name, byte[] bytes) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, bytes);
        return p;
    }

    /** @return the uncompressed CT with its (little-endian) header edited */
    private static byte[] edited(Consumer<ByteBuffer> edit) {
        byte[] b = raw.clone();
        edit.accept(ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN));
        return b;
    }

    private static void refused(Path p, String expectedPart) {
        VolumeInputException e = assertThrows(VolumeInputException.class, () -> NiftiReader.read(p).close());
        String m = e.getMessage();
        assertTrue(m.startsWith(p + ": "), m);
        assertTrue(m.contains(expectedPart), m);
        assertFalse(m.contains("\n"), m);
    }

    private static float[] voxels(Path p) {
        try (Volume v = NiftiReader.read(p)) {
            float[] f = new float[(int) v.voxelCount()];
            for (int i = 0; i < f.length; i++) {
                f[i] = v.get(i);
            }
            return f;
        }
    }

    @Test
    void aBitFlipThatDeflateDecodesIsCaughtByTheCrc() throws IOException {
        // Search, deterministically, for a flipped bit in the compressed voxels after which the deflate data still
        // decodes to the full length: only the trailer's CRC32 tells such a file from the original (issue 9:
        // probabilities changed by up to 0.039, exit 0).
        for (int pos = gz.length / 2; pos < gz.length - 8; pos += 97) {
            byte[] bad = gz.clone();
            bad[pos] ^= 0x10;
            byte[] out = inflateBody(bad);
            if (out != null && out.length == raw.length && !Arrays.equals(out, raw)) {
                refused(write("bitflip.nii.gz", bad), "CRC32 mismatch");
                return;
            }
        }
        throw new AssertionError("no decodable bit flip found in the CT's deflate data");
    }

    /** @return what the deflate data of a one-member gzip file (10-byte header) inflates to, null if invalid */
    private static byte[] inflateBody(byte[] file) {
        Inflater inf = new Inflater(true);
        try {
            inf.setInput(file, 10, file.length - 18);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] buf = new byte[1 << 16];
            while (!inf.finished()) {
                int n = inf.inflate(buf);
                if (n == 0 && (inf.needsInput() || inf.needsDictionary())) {
                    return null;
                }
                out.write(buf, 0, n);
            }
            return out.toByteArray();
        } catch (DataFormatException e) {
            return null;
        } finally {
            inf.end();
        }
    }

    @Test
    void wrongTrailerValuesAreRefused() throws IOException {
        byte[] crc = gz.clone();
        crc[gz.length - 8] ^= 1;
        refused(write("crc.nii.gz", crc), "CRC32 mismatch in member 1");
        byte[] size = gz.clone();
        size[gz.length - 2] ^= 1;
        refused(write("isize.nii.gz", size), "length mismatch in member 1");
    }

    @Test
    void truncatedTrailersAreRefused() throws IOException {
        for (int cut = 1; cut <= 8; cut++) {
            refused(write("cut" + cut + ".nii.gz", Arrays.copyOf(gz, gz.length - cut)), "truncated file (gzip data ends inside a member trailer");
        }
    }

    @Test
    void trailingGarbageIsRefusedButZeroPaddingAndSeveralMembersRead() throws IOException {
        byte[] garbage = Arrays.copyOf(gz, gz.length + 5);
        System.arraycopy("junk!".getBytes(), 0, garbage, gz.length, 5);
        refused(write("garbage.nii.gz", garbage), "trailing data after gzip member 1 is not another gzip member");
        byte[] zerosThenJunk = Arrays.copyOf(gz, gz.length + 9);
        zerosThenJunk[gz.length + 8] = 7;
        refused(write("zerojunk.nii.gz", zerosThenJunk), "non-zero data after the zero padding");
        byte[] halfHeader = Arrays.copyOf(gz, gz.length + 4);
        halfHeader[gz.length] = 0x1f;
        halfHeader[gz.length + 1] = (byte) 0x8b;
        halfHeader[gz.length + 2] = 8;
        refused(write("halfmember.nii.gz", halfHeader), "truncated file (gzip data ends inside a member header (member 2))");

        float[] original = voxels(write("original.nii.gz", gz));
        assertArrayEquals(original, voxels(write("padded.nii.gz", Arrays.copyOf(gz, gz.length + 512))));
        // Split inside the header, and again inside the voxels: three members, one stream.
        ByteArrayOutputStream three = new ByteArrayOutputStream();
        three.writeBytes(NiftiBytes.gzip(Arrays.copyOfRange(raw, 0, 200)));
        three.writeBytes(NiftiBytes.gzip(Arrays.copyOfRange(raw, 200, 300_001)));
        three.writeBytes(NiftiBytes.gzip(Arrays.copyOfRange(raw, 300_001, raw.length)));
        assertArrayEquals(original, voxels(write("members.nii.gz", three.toByteArray())));
        byte[] badSecond = three.toByteArray();
        badSecond[badSecond.length - 12] ^= 0x40; // inside the third member's deflate data or its trailer
        assertThrows(VolumeInputException.class, () -> NiftiReader.read(write("badthird.nii.gz", badSecond)).close());
    }

    @Test
    void voxOffsetMustLieAfterTheHeaderAndInsideTheFile() throws IOException {
        // 350 used to be moved silently to 352; voxels were then read 2 bytes away from where the file said.
        refused(write("off350.nii", edited(b -> b.putFloat(108, 350))), "vox_offset 350 is not a valid voxel data offset (a single-file NIfTI-1 needs a whole number of at least 352)");
        refused(write("off0.nii.gz", NiftiBytes.gzip(edited(b -> b.putFloat(108, 0)))), "vox_offset 0 is not");
        refused(write("offhalf.nii", edited(b -> b.putFloat(108, 352.5f))), "vox_offset 352.5 is not");
        refused(write("offnan.nii", edited(b -> b.putFloat(108, Float.NaN))), "vox_offset NaN is not");
        refused(write("offfar.nii", edited(b -> b.putFloat(108, 1e9f))), "truncated: header needs 1000739320 bytes (vox_offset 1000000000");
        refused(write("offhuge.nii", edited(b -> b.putFloat(108, 1e30f))), "vox_offset 1.0000000150474662E30 is not");
        // One byte further than the file allows: the last voxel would be missing.
        refused(write("offlate.nii", edited(b -> b.putFloat(108, 353))), "truncated: header needs 739673 bytes");
    }

    @Test
    void dimensionInconsistenciesAreBadInput() throws IOException {
        refused(write("dim0_0.nii", edited(b -> b.putShort(40, (short) 0))), "header claims 0 dimensions (dim[0] must be 1..7)");
        refused(write("dim0_8.nii.gz", NiftiBytes.gzip(edited(b -> b.putShort(40, (short) 8)))), "header claims 8 dimensions");
        refused(write("dim2_0.nii", edited(b -> b.putShort(44, (short) 0))), "dim[2] = 0 (must be at least 1)");
        refused(write("dim3_neg.nii", edited(b -> b.putShort(46, (short) -30))), "dim[3] = -30 (must be at least 1)");
        refused(write("big.nii", edited(b -> b.putShort(46, (short) 30000))), "truncated: header needs");
        // With dim[0] = 2 the file is a 2-D image: dim[3] is unused, whatever it holds (it used to size the volume:
        // -3 ended in an internal error, 30000 in a 1.4 GB allocation of zeros).
        for (short d3 : new short[] {-3, 30000}) {
            try (Volume v = NiftiReader.read(write("2d.nii", edited(b -> {
                b.putShort(40, (short) 2);
                b.putShort(46, d3);
            })))) {
                assertArrayEquals(new int[] {1, 101, 122}, v.shape());
                float[] all = voxels(write("original.nii", raw));
                for (int i = 0; i < 122 * 101; i++) {
                    assertEquals(all[i], v.get(i), 0f);
                }
            }
        }
    }

    @Test
    void datatypeBitpixAndSizeofHdrProblemsAreBadInput() throws IOException {
        refused(write("bitpix.nii", edited(b -> b.putShort(72, (short) 8))), "bitpix 8 does not match datatype INT16 (16 bits)");
        refused(write("rgb.nii", edited(b -> b.putShort(70, (short) 128))), "unsupported NIfTI datatype 128 (DT_RGB24; supported:");
        refused(write("odd.nii", edited(b -> b.putShort(70, (short) 3))), "unsupported NIfTI datatype 3 (not a nifti1.h type;");
        refused(write("sizeof.nii.gz", NiftiBytes.gzip(edited(b -> b.putInt(0, 349)))), "not a NIfTI file (sizeof_hdr is 349 little endian");
        refused(write("magic.nii", edited(b -> b.put(346, (byte) '3'))), "wrong NIfTI-1 magic 'n+3\\x00'");
        // sizeof_hdr says NIfTI-2, the rest is NIfTI-1.
        refused(write("v2size.nii", edited(b -> b.putInt(0, 540))), "wrong NIfTI-2 magic");
    }

    @Test
    void voxelSizesAndAffinesThatCannotMakeAGridAreBadInput() throws IOException {
        // Without sform and qform the geometry is diag(pixdim): each voxel size must be finite and positive.
        for (float bad : new float[] {0, -3, Float.NaN, Float.POSITIVE_INFINITY}) {
            refused(write("pixdim.nii", edited(b -> {
                b.putShort(254, (short) 0);
                b.putFloat(84, bad);
            })), "pixdim[2] = " + (bad == (int) bad ? Integer.toString((int) bad) : Float.toString(bad)) + " (voxel sizes pixdim[1..3] must be finite and positive)");
        }
        // With a usable sform, pixdim is not used (nibabel's affine is the sform): a zero there does not matter.
        try (Volume v = NiftiReader.read(write("pixdim_sform.nii", edited(b -> b.putFloat(84, 0))))) {
            assertArrayEquals(new double[] {3, 3, 3}, v.geometry().spacing(), 1e-6);
        }
        // Tiny spacing: the sform is numerically singular.
        refused(write("tiny.nii", edited(b -> {
            b.putFloat(280, 1e-20f);
            b.putFloat(300, 1e-20f);
            b.putFloat(320, 1e-20f);
        })), "voxel-to-world affine is singular or not finite (check srow)");
        refused(write("nan_srow.nii", edited(b -> b.putFloat(292, Float.NaN))), "singular or not finite (check srow)");
        // qform used (sform code 0, qform code 1) with an unusable quaternion offset.
        refused(write("qform.nii", edited(b -> {
            b.putShort(254, (short) 0);
            b.putShort(252, (short) 1);
            b.putFloat(268, Float.POSITIVE_INFINITY);
        })), "singular or not finite (check quatern/qoffset/pixdim)");
    }

    @Test
    void hugeOrTinyNifti2SpacingIsBadInputNotAnInternalError() throws IOException {
        // NIfTI-2 stores float64 fields: a determinant (1e600) or an inverse entry (1e600 / 1e300) can overflow
        // although every entry is finite. The first ended in Geometry's IllegalArgumentException (exit 1).
        NiftiBytes nb = new NiftiBytes();
        nb.version = 2;
        nb.sformCode = 1;
        nb.srow = new double[] {1e200, 0, 0, 0, 0, 1e200, 0, 0, 0, 0, 1e200, 0};
        refused(write("huge_det.nii", nb.build()), "voxel-to-world affine is singular or not finite (check srow)");
        nb.srow = new double[] {1e300, 0, 0, 0, 0, 1e300, 0, 0, 0, 0, 1e-300, 0};
        refused(write("huge_inverse.nii", nb.build()), "voxel-to-world affine is singular or not finite (check srow)");
        nb.sformCode = 0;
        nb.pixdim = new double[] {1, 1e-300, 1e-300, 1, 1, 1, 1, 1};
        refused(write("tiny_pixdim.nii", nb.build()), "singular or not finite (check pixdim[1..3])");
        nb.pixdim = new double[] {1, 1e-3, 1e-3, 1e-3, 1, 1, 1, 1}; // 1 µm voxels in mm: small, yet a grid
        try (Volume v = NiftiReader.read(write("micro.nii", nb.build()))) {
            assertArrayEquals(new double[] {1e-3, 1e-3, 1e-3}, v.geometry().spacing(), 1e-12);
        }
    }
}
