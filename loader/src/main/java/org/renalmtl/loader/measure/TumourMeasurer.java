package org.renalmtl.loader.measure;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.renalmtl.loader.Geometry;
import org.renalmtl.loader.MaskRegion;
import org.renalmtl.loader.MaskSelection;
import org.renalmtl.loader.Resampler;
import org.renalmtl.loader.Volume;
import org.renalmtl.loader.VolumeInputException;

/**
 * Measures a tumour from its mask: volume, maximum diameter with the R.E.N.A.L. R points it implies, and per
 * phase the HU mean and SD inside the mask.
 *
 * <p>Maximum diameter, exactly and fast: the two farthest voxel centres are vertices of the convex hull of the
 * voxel centres, and a hull vertex can never lie strictly between two other points of the set; so only voxels
 * that are the first or last of the mask along their x-row, their y-column and their z-column are candidates
 * (the affine voxel → world map keeps "between"). Candidates are then compared pairwise, in decreasing
 * distance from their centroid, stopping once r_i + r_j cannot beat the best pair found.
 */
public final class TumourMeasurer {

    /** R.E.N.A.L. R: diameters up to and including this many mm score 1. */
    public static final double R1_MAX_MM = 40;
    /** R.E.N.A.L. R: diameters of this many mm and more score 3. */
    public static final double R3_MIN_MM = 70;

    private TumourMeasurer() {
    }

    /**
     * Measures a tumour.
     *
     * @param mask      tumour mask
     * @param selection which voxels form the tumour
     * @param phases    phase images, on the mask's grid or not (others are sampled trilinearly at the mask
     *                  voxel centres in world coordinates)
     * @return the measurements
     * @throws VolumeInputException for an empty mask or a phase that covers none of the tumour
     */
    public static TumourMeasurements measure(Volume mask, MaskSelection selection, List<Volume> phases) {
        MaskRegion region = MaskRegion.select(mask, selection);
        Geometry g = mask.geometry();
        double volumeMl = region.size() * g.voxelVolumeMm3() / 1000.0;
        double[] ends = farthestPair(region, g);
        double diameter = Math.sqrt(sq(ends[0] - ends[3]) + sq(ends[1] - ends[4]) + sq(ends[2] - ends[5]));
        List<PhaseStats> stats = new ArrayList<>();
        for (Volume phase : phases) {
            stats.add(phaseStats(region, mask, phase));
        }
        return new TumourMeasurements(region.size(), volumeMl, diameter, ends, renalRPoints(diameter), stats);
    }

    /**
     * R.E.N.A.L. R component (Kutikov &amp; Uzzo 2009): ≤ 4 cm scores 1, between 4 and 7 cm 2, ≥ 7 cm 3. A diameter
     * of exactly 40 mm scores 1 and exactly 70 mm scores 3, as the published bounds say.
     *
     * @param maxDiameterMm maximum tumour diameter in mm
     * @return 1, 2 or 3
     */
    public static int renalRPoints(double maxDiameterMm) {
        if (maxDiameterMm <= R1_MAX_MM) {
            return 1;
        }
        return maxDiameterMm >= R3_MIN_MM ? 3 : 2;
    }

    /**
     * The two voxel centres of a region farthest apart in world coordinates.
     *
     * @param region the voxels
     * @param g      their grid's geometry
     * @return {x1, y1, z1, x2, y2, z2} in mm (both ends equal for a single voxel)
     */
    public static double[] farthestPair(MaskRegion region, Geometry g) {
        double[] pts = hullCandidates(region, g); // (n, 3) world xyz
        int n = pts.length / 3;
        double cx = 0;
        double cy = 0;
        double cz = 0;
        for (int i = 0; i < n; i++) {
            cx += pts[3 * i];
            cy += pts[3 * i + 1];
            cz += pts[3 * i + 2];
        }
        cx /= n;
        cy /= n;
        cz /= n;
        double[] r = new double[n]; // distance from centroid
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            r[i] = Math.sqrt(sq(pts[3 * i] - cx) + sq(pts[3 * i + 1] - cy) + sq(pts[3 * i + 2] - cz));
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Double.compare(r[b], r[a]));
        double best2 = -1;
        int bi = order[0];
        int bj = order[0];
        for (int a = 0; a < n; a++) {
            int i = order[a];
            if (best2 >= 0 && sq(2 * r[i]) <= best2) {
                break;
            }
            for (int b = a + 1; b < n; b++) {
                int j = order[b];
                if (best2 >= 0 && sq(r[i] + r[j]) <= best2) {
                    break;
                }
                double d2 = sq(pts[3 * i] - pts[3 * j]) + sq(pts[3 * i + 1] - pts[3 * j + 1]) + sq(pts[3 * i + 2] - pts[3 * j + 2]);
                if (d2 > best2) {
                    best2 = d2;
                    bi = i;
                    bj = j;
                }
            }
        }
        return new double[] {pts[3 * bi], pts[3 * bi + 1], pts[3 * bi + 2], pts[3 * bj], pts[3 * bj + 1], pts[3 * bj + 2]};
    }

    /**
     * Voxels that are extreme along all three axis lines through them, as world points.
     *
     * @return (n, 3) world coordinates, flattened
     */
    static double[] hullCandidates(MaskRegion region, Geometry g) {
        int[] lo = region.lo();
        int[] hi = region.hi();
        int bz = hi[0] - lo[0] + 1;
        int by = hi[1] - lo[1] + 1;
        int bx = hi[2] - lo[2] + 1;
        int n = region.size();
        // Per (z, y) row: min and max x; per (z, x): min and max y; per (y, x): min and max z. Bounding-box sized.
        int[] rowMin = filled(bz * by, Integer.MAX_VALUE); // (bz, by)
        int[] rowMax = filled(bz * by, Integer.MIN_VALUE);
        int[] colMin = filled(bz * bx, Integer.MAX_VALUE); // (bz, bx)
        int[] colMax = filled(bz * bx, Integer.MIN_VALUE);
        int[] lineMin = filled(by * bx, Integer.MAX_VALUE); // (by, bx)
        int[] lineMax = filled(by * bx, Integer.MIN_VALUE);
        for (int p = 0; p < n; p++) {
            int z = region.z(p) - lo[0];
            int y = region.y(p) - lo[1];
            int x = region.x(p) - lo[2];
            int r = z * by + y;
            rowMin[r] = Math.min(rowMin[r], x);
            rowMax[r] = Math.max(rowMax[r], x);
            int c = z * bx + x;
            colMin[c] = Math.min(colMin[c], y);
            colMax[c] = Math.max(colMax[c], y);
            int l = y * bx + x;
            lineMin[l] = Math.min(lineMin[l], z);
            lineMax[l] = Math.max(lineMax[l], z);
        }
        double[] out = new double[3 * Math.min(n, 1 << 20)];
        int m = 0;
        for (int p = 0; p < n; p++) {
            int z = region.z(p) - lo[0];
            int y = region.y(p) - lo[1];
            int x = region.x(p) - lo[2];
            int r = z * by + y;
            int c = z * bx + x;
            int l = y * bx + x;
            if ((x == rowMin[r] || x == rowMax[r]) && (y == colMin[c] || y == colMax[c]) && (z == lineMin[l] || z == lineMax[l])) {
                if (3 * m == out.length) {
                    out = Arrays.copyOf(out, out.length * 2);
                }
                double[] w = g.toWorld(x + lo[2], y + lo[1], z + lo[0]);
                out[3 * m] = w[0];
                out[3 * m + 1] = w[1];
                out[3 * m + 2] = w[2];
                m++;
            }
        }
        return Arrays.copyOf(out, 3 * m);
    }

    private static PhaseStats phaseStats(MaskRegion region, Volume mask, Volume phase) {
        boolean same = phase.sameGrid(mask);
        double[] m = Geometry.multiply(phase.geometry().inverse(), mask.geometry().affine()); // mask voxel -> phase voxel
        Resampler.Sampler s = new Resampler.Sampler(phase);
        long count = 0;
        double mean = 0;
        double m2 = 0;
        for (int p = 0; p < region.size(); p++) {
            double v;
            if (same) {
                v = phase.get(region.index(p));
            } else {
                double x = region.x(p);
                double y = region.y(p);
                double z = region.z(p);
                double px = m[0] * x + m[1] * y + m[2] * z + m[3];
                double py = m[4] * x + m[5] * y + m[6] * z + m[7];
                double pz = m[8] * x + m[9] * y + m[10] * z + m[11];
                if (!s.inside(px, py, pz)) {
                    continue;
                }
                v = s.trilinear(px, py, pz, 0f);
            }
            count++;
            double delta = v - mean;
            mean += delta / count;
            m2 += delta * (v - mean);
        }
        if (count == 0) {
            throw new VolumeInputException(phase.source() + ": phase does not overlap the tumour mask " + mask.source());
        }
        return new PhaseStats(phase.source(), mean, count > 1 ? Math.sqrt(m2 / (count - 1)) : 0, (int) count);
    }

    private static int[] filled(int n, int v) {
        int[] a = new int[n];
        Arrays.fill(a, v);
        return a;
    }

    private static double sq(double v) {
        return v * v;
    }
}
