package org.renalmtl.loader;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Mask selection: largest 26-connected component or a label. */
class MaskRegionTest {

    private static Volume grid() {
        return Volume.allocate(6, 7, 8, Geometry.axisAligned(new double[] {1, 1, 1}, new double[] {0, 0, 0}), "mask.nii.gz");
    }

    @Test
    void largestComponentWinsAndDiagonalsConnect() {
        try (Volume m = grid()) {
            // Component A: 3 voxels joined only through a corner (26-connected, not 6-connected).
            m.set(1, 1, 1, 1);
            m.set(2, 2, 2, 1);
            m.set(3, 3, 3, 1);
            // Component B: 2 face-neighbours with another label value.
            m.set(5, 6, 6, 2);
            m.set(5, 6, 7, 2);
            MaskRegion r = MaskRegion.select(m, MaskSelection.largestComponent());
            assertEquals(3, r.size());
            assertEquals(2, r.components());
            assertArrayEquals(new int[] {1, 1, 1}, r.lo());
            assertArrayEquals(new int[] {3, 3, 3}, r.hi());
            MaskRegion b = MaskRegion.select(m, MaskSelection.ofLabel(2));
            assertEquals(2, b.size());
            assertArrayEquals(new int[] {5, 6, 6}, b.lo());
            assertArrayEquals(new int[] {5, 6, 7}, b.hi());
            assertTrue(b.contains(m.index(5, 6, 7)));
        }
    }

    @Test
    void probabilityValuesRoundToLabels() {
        try (Volume m = grid()) {
            m.set(0, 0, 0, 0.49f);
            m.set(0, 0, 1, 0.51f);
            assertEquals(1, MaskRegion.select(m, MaskSelection.largestComponent()).size());
        }
    }

    @Test
    void anImageGivenAsMaskIsRefused() {
        try (Volume m = grid()) {
            m.set(1, 1, 1, 1);
            m.set(2, 1, 0, -1000f); // air in a CT
            VolumeInputException e = assertThrows(VolumeInputException.class,
                    () -> MaskRegion.select(m, MaskSelection.largestComponent()));
            assertTrue(e.getMessage().startsWith("mask.nii.gz: not a label mask: voxel (z, y, x) = (2, 1, 0)"),
                    e.getMessage());
        }
    }

    @Test
    void emptyMaskAndMissingLabelAreRefusedNamingTheFile() {
        try (Volume m = grid()) {
            VolumeInputException e = assertThrows(VolumeInputException.class, () -> MaskRegion.select(m, MaskSelection.largestComponent()));
            assertTrue(e.getMessage().startsWith("mask.nii.gz: mask is empty"), e.getMessage());
            m.set(1, 1, 1, 1);
            e = assertThrows(VolumeInputException.class, () -> MaskRegion.select(m, MaskSelection.ofLabel(4)));
            assertTrue(e.getMessage().contains("label 4"), e.getMessage());
        }
    }

    @Test
    void anImageGivenAsMaskIsRefusedBeforeLabelling() {
        try (Volume m = grid()) {
            for (long i = 0; i < m.voxelCount(); i++) {
                m.set(i, -1000);
            }
            VolumeInputException e = assertThrows(VolumeInputException.class,
                () -> MaskRegion.select(m, MaskSelection.largestComponent(), 100));
            assertTrue(e.getMessage().startsWith("mask.nii.gz: more than 100 mask voxels"), e.getMessage());
        }
    }
}
