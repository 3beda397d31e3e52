package org.renalmtl.loader.measure;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.renalmtl.loader.Geometry;
import org.renalmtl.loader.MaskRegion;
import org.renalmtl.loader.MaskSelection;
import org.renalmtl.loader.Volume;

/** Volume, maximum diameter and R points. */
class TumourMeasurerTest {

    /** An oblique, anisotropic grid: the diameter must be measured in world mm, not voxels. */
    private static final Geometry OBLIQUE = new Geometry(new double[] {
        0.7 * Math.cos(0.3), -0.9 * Math.sin(0.3), 0, 10,
        0.7 * Math.sin(0.3), 0.9 * Math.cos(0.3), 0, -20,
        0, 0, 2.5, 30,
        0, 0, 0, 1}, 1, 1);

    private static double bruteForce(MaskRegion r, Geometry g) {
        double best = 0;
        for (int a = 0; a < r.size(); a++) {
            double[] p = g.toWorld(r.x(a), r.y(a), r.z(a));
            for (int b = a + 1; b < r.size(); b++) {
                double[] q = g.toWorld(r.x(b), r.y(b), r.z(b));
                best = Math.max(best, Math.sqrt(Math.pow(p[0] - q[0], 2) + Math.pow(p[1] - q[1], 2) + Math.pow(p[2] - q[2], 2)));
            }
        }
        return best;
    }

    @Test
    void diameterEqualsBruteForceOnRandomBlobs() {
        for (int seed = 0; seed < 8; seed++) {
            SplittableRandom rnd = new SplittableRandom(seed);
            try (Volume m = Volume.allocate(14, 30, 30, OBLIQUE, "blob")) {
                // A union of a few random balls (non-convex, irregular) plus random single voxels.
                for (int b = 0; b < 4; b++) {
                    int cx = rnd.nextInt(8, 22);
                    int cy = rnd.nextInt(8, 22);
                    int cz = rnd.nextInt(3, 11);
                    int rad = rnd.nextInt(2, 7);
                    for (int z = 0; z < 14; z++) {
                        for (int y = 0; y < 30; y++) {
                            for (int x = 0; x < 30; x++) {
                                if (Math.pow(x - cx, 2) + Math.pow(y - cy, 2) + Math.pow((z - cz) * 2.5, 2) <= rad * rad) {
                                    m.set(z, y, x, 1);
                                }
                            }
                        }
                    }
                }
                for (int k = 0; k < 5; k++) {
                    m.set(rnd.nextInt(14), rnd.nextInt(30), rnd.nextInt(30), 1);
                }
                MaskRegion r = MaskRegion.select(m, MaskSelection.ofLabel(1));
                double[] e = TumourMeasurer.farthestPair(r, OBLIQUE);
                double d = Math.sqrt(Math.pow(e[0] - e[3], 2) + Math.pow(e[1] - e[4], 2) + Math.pow(e[2] - e[5], 2));
                assertEquals(bruteForce(r, OBLIQUE), d, 1e-9, "seed " + seed);
                assertTrue(TumourMeasurer.hullCandidates(r, OBLIQUE).length / 3 < r.size());
            }
        }
    }

    @Test
    void singleVoxelHasZeroDiameterAndOneVoxelVolume() {
        try (Volume m = Volume.allocate(3, 3, 3, OBLIQUE, "one")) {
            m.set(1, 1, 1, 1);
            TumourMeasurements t = TumourMeasurer.measure(m, MaskSelection.largestComponent(), List.of(m));
            assertEquals(0, t.maxDiameterMm(), 0);
            // |det| = 0.7 * 0.9 * 2.5 mm^3
            assertEquals(0.7 * 0.9 * 2.5 / 1000, t.volumeMl(), 1e-12);
            assertEquals(1, t.phases().getFirst().meanHu(), 0);
            assertEquals(0, t.phases().getFirst().sdHu(), 0);
        }
    }

    @Test
    void renalRBoundsIncludeFourCmInOneAndSevenCmInThree() {
        assertEquals(1, TumourMeasurer.renalRPoints(12));
        assertEquals(1, TumourMeasurer.renalRPoints(40.0));
        assertEquals(2, TumourMeasurer.renalRPoints(Math.nextUp(40.0)));
        assertEquals(2, TumourMeasurer.renalRPoints(Math.nextDown(70.0)));
        assertEquals(3, TumourMeasurer.renalRPoints(70.0));
        assertEquals(3, TumourMeasurer.renalRPoints(120));
    }

    @Test
    void largeSphereIsMeasuredFastAndClose() {
        // Radius 40 mm at 0.8 x 0.8 x 1 mm: ~270 000 voxels, too many for a naive O(n^2) pass.
        Geometry g = Geometry.axisAligned(new double[] {0.8, 0.8, 1.0}, new double[] {0, 0, 0});
        try (Volume m = Volume.allocate(90, 110, 110, g, "sphere")) {
            for (int z = 0; z < 90; z++) {
                for (int y = 0; y < 110; y++) {
                    for (int x = 0; x < 110; x++) {
                        if (Math.pow((x - 54.5) * 0.8, 2) + Math.pow((y - 54.5) * 0.8, 2) + Math.pow(z - 44.5, 2) <= 1600) {
                            m.set(z, y, x, 1);
                        }
                    }
                }
            }
            long t0 = System.nanoTime();
            TumourMeasurements t = TumourMeasurer.measure(m, MaskSelection.largestComponent(), List.of());
            double seconds = (System.nanoTime() - t0) / 1e9;
            // Voxel centres lie inside the 80 mm sphere, and two centres within half a voxel diagonal of opposite
            // poles exist, so the diameter is in (80 - 2 * 0.5 * sqrt(0.8^2 + 0.8^2 + 1), 80].
            assertTrue(t.maxDiameterMm() <= 80 && t.maxDiameterMm() > 80 - Math.sqrt(0.64 + 0.64 + 1), "" + t.maxDiameterMm());
            assertEquals(3, t.renalRPoints());
            // Voxel counting of a ball of ~270k voxels: the lattice-point error is far below 1%.
            assertEquals(4.0 / 3 * Math.PI * 64, t.volumeMl(), 0.01 * 4.0 / 3 * Math.PI * 64);
            assertTrue(seconds < 5, "measurement took " + seconds + " s");
        }
    }
}
