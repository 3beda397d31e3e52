package org.renalmtl.loader;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.renalmtl.loader.measure.TumourMeasurements;
import org.renalmtl.loader.measure.TumourMeasurer;

/**
 * The real abdominal CT in shared/data/ct (TotalSegmentator's test files, Apache-2.0).
 *
 * <p>Reference numbers were obtained independently of this code: the raw header fields by unpacking the
 * decompressed bytes with Python's struct module at the nifti1.h offsets, and the affine, voxel sums and mask
 * statistics with nibabel 5.0 / numpy 1.24 (Debian python3-nibabel), e.g.
 * {@code np.asanyarray(nib.load(f).dataobj).astype(np.float64).sum()}; kidney diameters with
 * {@code scipy.spatial.distance.pdist} over all voxel centres mapped by the affine.
 */
class RealCtTest {

    /** Affine of all files (sform, code 2; qform code 0): 3 mm isotropic, RAS, from nibabel {@code img.affine}. */
    private static final double[] AFFINE = {
        3, 0, 0, -177.95632935,
        0, 3, 0, 11.31900024,
        0, 0, 3, 94.30175781,
        0, 0, 0, 1};

    @Test
    void smallCtHeaderGeometryAndIntensities() {
        Path f = TestData.ct().resolve("example_ct_sm.nii.gz");
        try (Volume v = NiftiReader.read(f)) {
            NiftiHeader h = v.header().orElseThrow();
            assertEquals(1, h.version());
            assertEquals(NiftiDataType.INT16, h.dataType());
            assertArrayEquals(new int[] {30, 101, 122}, v.shape()); // header dim = 122 x 101 x 30 (x, y, z)
            assertEquals(2, v.geometry().sformCode());
            assertEquals(0, v.geometry().qformCode());
            // srow values are float32 in the file; 1e-6 mm covers their decimal print-out above.
            assertArrayEquals(AFFINE, v.geometry().affine(), 1e-6);
            assertEquals("RAS", v.geometry().orientation());
            // Physical extent: 122 x 101 x 30 voxels of 3 mm = 366 x 303 x 90 mm, a plausible abdominal FOV.
            assertArrayEquals(new double[] {3, 3, 3}, v.geometry().spacing(), 1e-9);
            Stats s = stats(v);
            // int16 CT numbers are converted exactly, so sums and extremes must match numpy's exactly.
            assertEquals(-130_894_872.0, s.sum, 0.0);
            assertEquals(-1100f, s.min);
            assertEquals(1207f, s.max);
            // Air outside the body (anterior-right corner, x 0..9, y 93..100, every slice) is -1000 HU by the
            // definition of the Hounsfield scale; numpy gives a mean of -999.727 there (noise SD ~6 HU).
            double air = boxMean(v, 0, 10, 93, 101, 0, 30);
            assertEquals(-999.7270833, air, 1e-6);
            assertTrue(Math.abs(air + 1000) < 20, "air should be about -1000 HU");
            assertEquals(14f, v.get(10, 35, 40)); // numpy a[40, 35, 10]
            assertEquals(-995f, v.get(20, 95, 10)); // numpy a[10, 95, 20]
        }
    }

    @Test
    void largeInt32CtReadsTheSameGrid() {
        Path f = TestData.ct().resolve("example_ct.nii.gz");
        try (Volume v = NiftiReader.read(f)) {
            assertEquals(NiftiDataType.INT32, v.header().orElseThrow().dataType());
            assertArrayEquals(new int[] {112, 101, 122}, v.shape());
            assertArrayEquals(AFFINE, v.geometry().affine(), 1e-6);
            Stats s = stats(v);
            assertEquals(-496_851_173.0, s.sum, 0.0);
            assertEquals(-1207f, s.min);
            assertEquals(3382f, s.max); // cortical bone / contrast-free maximum, plausible
            assertEquals(164f, v.get(56, 50, 61)); // numpy big[61, 50, 56]
            assertEquals(-1006f, v.get(100, 95, 10)); // numpy big[10, 95, 100]: air
        }
    }

    @Test
    void kidneyMasksGiveVolumesDiametersAndSoftTissueHu() {
        Path dir = TestData.ct();
        try (Volume ct = NiftiReader.read(dir.resolve("example_ct_sm.nii.gz"));
             Volume left = NiftiReader.read(dir.resolve("example_seg_fast_kidney_left.nii.gz"));
             Volume right = NiftiReader.read(dir.resolve("example_seg_fast_kidney_right.nii.gz"))) {
            assertEquals(NiftiDataType.UINT8, left.header().orElseThrow().dataType());
            assertTrue(left.sameGrid(ct) && right.sameGrid(ct));
            // Label 1 = the whole mask. numpy: 3676 and 3996 voxels of 27 mm^3.
            TumourMeasurements l = TumourMeasurer.measure(left, MaskSelection.ofLabel(1), List.of(ct));
            TumourMeasurements r = TumourMeasurer.measure(right, MaskSelection.ofLabel(1), List.of(ct));
            assertEquals(3676, l.voxels());
            assertEquals(3996, r.voxels());
            assertEquals(99.252, l.volumeMl(), 1e-9);
            assertEquals(107.892, r.volumeMl(), 1e-9);
            // Adult kidneys are about 100-250 ml; both masks touch slice 0 (the scan ends inside the kidneys), so
            // volumes at the low end are expected.
            assertTrue(l.volumeMl() > 80 && l.volumeMl() < 250);
            assertTrue(r.volumeMl() > 80 && r.volumeMl() < 250);
            // Brute-force pdist over all voxel centres: 91.2907 and 86.8447 mm (kidney length 10-12 cm, cut off).
            assertEquals(91.29074432821763, l.maxDiameterMm(), 1e-6);
            assertEquals(86.84468895678077, r.maxDiameterMm(), 1e-6);
            // numpy mean / SD (ddof=1) of HU inside the masks. Unenhanced renal parenchyma is 30 +- 10 HU; 3 mm
            // voxels at the border mix in perirenal fat (-100 HU), pulling the mean down, but it stays in the
            // soft-tissue range, far from fat and from contrast-enhanced values.
            assertEquals(15.203210010881392, l.phases().getFirst().meanHu(), 1e-9);
            assertEquals(29.510026900228503, l.phases().getFirst().sdHu(), 1e-9);
            assertEquals(10.962712712712714, r.phases().getFirst().meanHu(), 1e-9);
            assertEquals(22.259868333422936, r.phases().getFirst().sdHu(), 1e-9);
            for (TumourMeasurements m : List.of(l, r)) {
                double mean = m.phases().getFirst().meanHu();
                assertTrue(mean > -20 && mean < 60, "kidney mean HU " + mean);
            }
            // scipy.ndimage.label with a 3x3x3 structure (26-connectivity): the left mask is one component, the
            // right one has a 3-voxel island besides the 3993-voxel kidney; the default selection drops it.
            TumourMeasurements rl = TumourMeasurer.measure(right, MaskSelection.largestComponent(), List.of(ct));
            assertEquals(3993, rl.voxels());
            assertEquals(2, MaskRegion.select(right, MaskSelection.largestComponent()).components());
            assertEquals(1, MaskRegion.select(left, MaskSelection.largestComponent()).components());
            assertEquals(10.974705735036313, rl.phases().getFirst().meanHu(), 1e-9);
            assertEquals(22.2635226368203, rl.phases().getFirst().sdHu(), 1e-9);
            assertEquals(86.84468895678077, rl.maxDiameterMm(), 1e-6);
            // RAS+: the left kidney lies at negative x (subject's left), the right one at positive x.
            assertTrue(l.diameterEndpoints()[0] < 0 && r.diameterEndpoints()[0] > 0);
        }
    }

    @Test
    void combinedLabelMapSelectsByLabel() {
        Path dir = TestData.ct();
        try (Volume seg = NiftiReader.read(dir.resolve("example_seg_fast.nii.gz"))) {
            // TotalSegmentator labels: kidney_right 2, kidney_left 3 (ENGINEERING.md section 4).
            assertEquals(3996, MaskRegion.select(seg, MaskSelection.ofLabel(2)).size());
            assertEquals(3676, MaskRegion.select(seg, MaskSelection.ofLabel(3)).size());
        }
    }

    private record Stats(double sum, float min, float max) {
    }

    private static Stats stats(Volume v) {
        double sum = 0;
        float min = Float.MAX_VALUE;
        float max = -Float.MAX_VALUE;
        for (long i = 0; i < v.voxelCount(); i++) {
            float f = v.get(i);
            sum += f;
            min = Math.min(min, f);
            max = Math.max(max, f);
        }
        return new Stats(sum, min, max);
    }

    private static double boxMean(Volume v, int x0, int x1, int y0, int y1, int z0, int z1) {
        double s = 0;
        int n = 0;
        for (int z = z0; z < z1; z++) {
            for (int y = y0; y < y1; y++) {
                for (int x = x0; x < x1; x++) {
                    s += v.get(z, y, x);
                    n++;
                }
            }
        }
        return s / n;
    }
}
