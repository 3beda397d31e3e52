package org.renalmtl.loader;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.URISyntaxException;
import java.nio.ByteOrder;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * Files written by nibabel 5.0 (not by this project), so that NIfTI-2 and big-endian parsing is checked against
 * an independent writer rather than against our own reading of the header layout. Both hold the 40×30×10 block
 * [40:80, 30:60, 8:18] of example_ct_sm.nii.gz; the expected numbers were printed by nibabel from the same files.
 *
 * <pre>
 * nifti2_be_qform.nii.gz: Nifti2Header(endianness='>'), int16 with nibabel-chosen scl_slope/scl_inter for the
 *   float data HU*0.37+5.2, qform code 1 (30 degrees about z, qfac -1, 0.75 x 0.8 x 2 mm), sform code 0.
 * nifti1_be_f64.nii.gz: Nifti1Header(endianness='>'), float64, the CT's sform (code 2).
 * </pre>
 */
class NibabelFilesTest {

    private static Path resource(String name) throws URISyntaxException {
        return Path.of(NibabelFilesTest.class.getResource("/nifti/" + name).toURI());
    }

    @Test
    void nifti2BigEndianScaledInt16WithQform() throws URISyntaxException {
        try (Volume v = NiftiReader.read(resource("nifti2_be_qform.nii.gz"))) {
            NiftiHeader h = v.header().orElseThrow();
            assertEquals(2, h.version());
            assertEquals(ByteOrder.BIG_ENDIAN, h.byteOrder());
            assertEquals(NiftiDataType.INT16, h.dataType());
            assertArrayEquals(new int[] {10, 30, 40}, v.shape());
            assertEquals(1, v.geometry().qformCode());
            assertEquals(0, v.geometry().sformCode());
            // nibabel img.affine
            assertArrayEquals(new double[] {
                0.6495190528, -0.4, 0, -12.5,
                0.375, 0.692820323, 0, 33.25,
                0, 0, -2, 101,
                0, 0, 0, 1}, v.geometry().affine(), 1e-9);
            // nibabel get_fdata() (float64 arithmetic); we store float32: relative error 6e-8 per voxel.
            assertEquals(-8.860651077702641, v.get(5, 4, 3), 1e-5);
            assertEquals(-9.970634168945253, v.get(9, 29, 39), 1e-5);
            double sum = 0;
            for (long i = 0; i < v.voxelCount(); i++) {
                sum += v.get(i);
            }
            // 12 000 voxels of magnitude <= 340, each within 2e-5 of the float64 value.
            assertEquals(101632.19188262662, sum, 12_000 * 2e-5);
        }
    }

    @Test
    void nifti1BigEndianFloat64WithSform() throws URISyntaxException {
        try (Volume v = NiftiReader.read(resource("nifti1_be_f64.nii.gz"))) {
            NiftiHeader h = v.header().orElseThrow();
            assertEquals(1, h.version());
            assertEquals(ByteOrder.BIG_ENDIAN, h.byteOrder());
            assertEquals(NiftiDataType.FLOAT64, h.dataType());
            assertArrayEquals(new double[] {3, 0, 0, -177.95632935, 0, 3, 0, 11.31900024, 0, 0, 3, 94.30175781, 0, 0, 0, 1},
                v.geometry().affine(), 1e-6);
            assertEquals(-38f, v.get(5, 4, 3));
            assertEquals(-41f, v.get(9, 29, 39));
            double sum = 0;
            for (long i = 0; i < v.voxelCount(); i++) {
                sum += v.get(i);
            }
            assertEquals(106062.0, sum, 0.0); // integers, exact in float32
        }
    }
}
