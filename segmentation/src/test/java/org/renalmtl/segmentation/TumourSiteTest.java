package org.renalmtl.segmentation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.renalmtl.loader.Geometry;
import org.renalmtl.loader.Volume;
import org.renalmtl.segmentation.TumourSite.Midline;
import org.renalmtl.segmentation.TumourSite.Side;

/**
 * The side of the kidney that holds the tumour, on synthetic label maps whose answer is known by construction.
 * A scene is laid out along a left-right coordinate u (voxels 0..59) and an anterior-posterior one w (0..9),
 * 6 slices, 4 mm voxels (0.064 ml): kidney A at u 10..15, kidney B at u 40..45 (216 voxels = 13.824 ml each),
 * the tumour (18 voxels) against B's side at u 46..48. Which world direction u runs along is the affine's
 * business: the same voxels under an x-flipping affine must give the other side.
 */
class TumourSiteTest {
    private static final int[] KIDNEY = {1};
    private static final int[] TUMOUR = {2};
    private static final double VOXEL_ML = 0.064;
    private static final double KIDNEY_ML = 216 * VOXEL_ML;

    /** u along i, world x = 4 i - 118 (RAS: i runs to the patient's right); image centre at world x 0. */
    private static final double[] RAS = {4, 0, 0, -118, 0, 4, 0, 0, 0, 0, 4, 0, 0, 0, 0, 1};
    /** u along i, world x = 118 - 4 i (as DICOM converters write LPS voxel order: i runs to the patient's left). */
    private static final double[] X_FLIPPED = {-4, 0, 0, 118, 0, -4, 0, 36, 0, 0, 4, 0, 0, 0, 0, 1};
    /** u along j, world x = 4 j - 118; i runs anterior. */
    private static final double[] ROTATED = {0, 4, 0, -118, 4, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 1};

    private final List<Volume> open = new ArrayList<>();

    @AfterEach
    void close() {
        open.forEach(Volume::close);
    }

    @Test
    void twoKidneysTheTumourHoldingOneIsMeasuredAgainstTheOther() {
        TumourSite ras = TumourSite.find(scene(RAS, false).kidneys().tumour().labels, TUMOUR, KIDNEY, null);
        assertEquals(new TumourSite(1, Side.RIGHT, KIDNEY_ML, Midline.OTHER_KIDNEY), rounded(ras));
        TumourSite flipped = TumourSite.find(scene(X_FLIPPED, false).kidneys().tumour().labels, TUMOUR, KIDNEY, null);
        assertEquals(new TumourSite(1, Side.LEFT, KIDNEY_ML, Midline.OTHER_KIDNEY), rounded(flipped),
                "the same voxels with i running to the patient's left");
        TumourSite rotated = TumourSite.find(scene(ROTATED, true).kidneys().tumour().labels, TUMOUR, KIDNEY, null);
        assertEquals(new TumourSite(1, Side.RIGHT, KIDNEY_ML, Midline.OTHER_KIDNEY), rounded(rotated),
                "left-right along the second voxel axis");
    }

    @Test
    void aRegionKidneyLabelCountsItsTumourAndCystInTheVolume() {
        // KiTS-style: kidney = [1, 2, 3] (kidney, tumour, cyst), tumour = 2; a 3-voxel cyst inside kidney B.
        Scene s = scene(RAS, false).kidneys().tumour().box(3, 41, 43, 4, 4, 3, 3);
        TumourSite t = TumourSite.find(s.labels, TUMOUR, new int[] {1, 2, 3}, null);
        assertEquals(new TumourSite(1, Side.RIGHT, (216 + 18) * VOXEL_ML, Midline.OTHER_KIDNEY), rounded(t));
    }

    @Test
    void oneKidneyIsMeasuredAgainstTheBodyInTheCtElseTheImageCentre() {
        // The body (HU 40) fills u 30..59, centroid u 44.5, right of kidney B's 42.5; the image centre, u 29.5, is
        // left of it: the two rules disagree, so the answer shows which was used.
        Scene s = scene(RAS, false).kidneyB().tumour();
        Volume ct = s.body(30, 59);
        assertEquals(new TumourSite(1, Side.LEFT, KIDNEY_ML, Midline.BODY), rounded(TumourSite.find(s.labels, TUMOUR, KIDNEY, ct)));
        assertEquals(new TumourSite(1, Side.RIGHT, KIDNEY_ML, Midline.IMAGE_CENTRE),
                rounded(TumourSite.find(s.labels, TUMOUR, KIDNEY, null)));
        Scene f = scene(X_FLIPPED, false).kidneyB().tumour();
        assertEquals(new TumourSite(1, Side.RIGHT, KIDNEY_ML, Midline.BODY),
                rounded(TumourSite.find(f.labels, TUMOUR, KIDNEY, f.body(30, 59))), "flipped: the body's centroid too");
        Volume air = s.body(0, -1);
        assertEquals(Midline.IMAGE_CENTRE, TumourSite.find(s.labels, TUMOUR, KIDNEY, air).midline(), "no body voxel");
    }

    @Test
    void aKidneySpeckBelowTenMlIsNoOtherKidney() {
        // 8 voxels (0.512 ml) of kidney at u 2..3: as the other kidney it would put the midline at u 22.5 (right).
        Scene s = scene(RAS, false).kidneyB().tumour().box(1, 2, 3, 2, 3, 2, 3);
        TumourSite t = TumourSite.find(s.labels, TUMOUR, KIDNEY, s.body(30, 59));
        assertEquals(new TumourSite(1, Side.LEFT, KIDNEY_ML, Midline.BODY), rounded(t));
    }

    @Test
    void theLargestTumourComponentDecidesAndDiagonalsTouch() {
        // A 4-voxel tumour against kidney A besides the 18-voxel one against B: B holds the largest.
        Scene s = scene(RAS, false).kidneys().tumour().box(2, 8, 9, 3, 4, 2, 2);
        assertEquals(new TumourSite(2, Side.RIGHT, KIDNEY_ML, Midline.OTHER_KIDNEY),
                rounded(TumourSite.find(s.labels, TUMOUR, KIDNEY, null)));
        // Now a 36-voxel one beside A is the largest; it meets A only diagonally (u 16, w 8 against u 15, w 7: no
        // shared face), which 26-connectivity counts as touching.
        Scene c = scene(RAS, false).kidneys().tumour().box(2, 16, 18, 8, 9, 0, 5);
        assertEquals(new TumourSite(2, Side.LEFT, KIDNEY_ML, Midline.OTHER_KIDNEY),
                rounded(TumourSite.find(c.labels, TUMOUR, KIDNEY, null)));
    }

    @Test
    void aTumourTouchingNoKidneyHasNoSide() {
        Scene s = scene(RAS, false).kidneys().box(2, 50, 52, 3, 5, 2, 3); // a gap of 4 voxels from kidney B
        assertEquals(new TumourSite(1, null, Double.NaN, null), TumourSite.find(s.labels, TUMOUR, KIDNEY, null));
        Scene t = scene(RAS, false).kidneys().tumour();
        assertEquals(new TumourSite(1, null, Double.NaN, null), TumourSite.find(t.labels, TUMOUR, new int[0], null),
                "a model without a kidney label");
        assertEquals(0, TumourSite.find(scene(RAS, false).kidneys().labels, TUMOUR, KIDNEY, null).tumourComponents());
    }

    @Test
    void aCtOnAnotherGridIsRefused() {
        Scene s = scene(RAS, false).kidneys().tumour();
        Scene other = scene(X_FLIPPED, false);
        assertThrows(IllegalArgumentException.class, () -> TumourSite.find(s.labels, TUMOUR, KIDNEY, other.body(0, 59)));
    }

    /** Kidney ml to 1e-9: voxels x 0.064 ml in double. */
    private static TumourSite rounded(TumourSite t) {
        assertTrue(Double.isNaN(t.kidneyMl()) || Math.abs(t.kidneyMl() - Math.round(t.kidneyMl() / VOXEL_ML) * VOXEL_ML) < 1e-9);
        return new TumourSite(t.tumourComponents(), t.side(), Math.round(t.kidneyMl() / VOXEL_ML) * VOXEL_ML, t.midline());
    }

    private Scene scene(double[] affine, boolean uAlongJ) {
        Geometry g = new Geometry(affine, 1, 1);
        Volume v = uAlongJ ? Volume.allocate(6, 60, 10, g, "labels") : Volume.allocate(6, 10, 60, g, "labels");
        open.add(v);
        return new Scene(v, uAlongJ);
    }

    /** A label map being drawn, in (u, w, z) coordinates. */
    private final class Scene {
        final Volume labels;
        final boolean uAlongJ;

        Scene(Volume labels, boolean uAlongJ) {
            this.labels = labels;
            this.uAlongJ = uAlongJ;
        }

        Scene box(int value, int u0, int u1, int w0, int w1, int z0, int z1) {
            for (int z = z0; z <= z1; z++) {
                for (int w = w0; w <= w1; w++) {
                    for (int u = u0; u <= u1; u++) {
                        if (uAlongJ) {
                            labels.set(z, u, w, value);
                        } else {
                            labels.set(z, w, u, value);
                        }
                    }
                }
            }
            return this;
        }

        Scene kidneys() {
            return box(1, 10, 15, 2, 7, 0, 5).kidneyB();
        }

        Scene kidneyB() {
            return box(1, 40, 45, 2, 7, 0, 5);
        }

        Scene tumour() {
            return box(2, 46, 48, 3, 5, 2, 3);
        }

        /** A CT on this grid: 40 HU for u0 <= u <= u1, air elsewhere. */
        Volume body(int u0, int u1) {
            Volume ct = Volume.allocate(labels.nz(), labels.ny(), labels.nx(), labels.geometry(), "ct");
            open.add(ct);
            for (int z = 0; z < ct.nz(); z++) {
                for (int y = 0; y < ct.ny(); y++) {
                    for (int x = 0; x < ct.nx(); x++) {
                        int u = uAlongJ ? y : x;
                        ct.set(z, y, x, u >= u0 && u <= u1 ? 40 : -1000);
                    }
                }
            }
            return ct;
        }
    }
}
