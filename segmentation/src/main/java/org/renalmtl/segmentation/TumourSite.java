package org.renalmtl.segmentation;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.IntStream;
import org.renalmtl.loader.ConnectedComponents;
import org.renalmtl.loader.Geometry;
import org.renalmtl.loader.Volume;

/**
 * Where a segmentation's tumour lies: how many 26-connected tumour components it has, which kidney holds the
 * largest one (the one {@code predict} classifies) and on which side of the patient that kidney is.
 *
 * <p>The rule, all in world coordinates so that any voxel order and any affine give the same answer:
 * <ol>
 *   <li>The <em>holding kidney</em> is the 26-connected component of tumour-or-kidney voxels that contains the
 *       largest tumour component, provided it has kidney voxels that are not tumour (with KiTS-style regions the
 *       kidney label includes the tumour; only the kidney's own voxels count here). A tumour touching no
 *       kidney voxel, not even by a corner, has no holding kidney: side null.</li>
 *   <li>Its position is the centroid of those kidney voxels (the tumour left out, so a large exophytic tumour
 *       does not drag it towards the midline).</li>
 *   <li>The midline is, in this order of preference: halfway to the centroid of the other kidney (the largest
 *       other kidney component of at least {@link #MIN_OTHER_KIDNEY_ML} ml, so that stray false-positive
 *       specks are no kidney); else the centroid of the body in the CT (voxels of at least {@link #BODY_HU}
 *       HU: air outside the patient is about -1000 HU, fat about -100); else, with no CT, the centre of the
 *       image's field of view.</li>
 *   <li>NIfTI world coordinates are RAS+: world x grows towards the patient's <em>right</em> (nibabel's
 *       {@code img.affine}, {@link Geometry}). A kidney whose world x exceeds the midline's is the right
 *       kidney, a smaller one the left; exactly on the midline is undecided (null).</li>
 * </ol>
 *
 * @param tumourComponents 26-connected components of tumour voxels (0: no tumour)
 * @param side             the patient's side of the holding kidney; null if there is none or it is undecided
 * @param kidneyMl         the holding kidney's voxels of the config's kidney label (which includes the tumour
 *                         when the label is a region that does), in ml; NaN if there is no holding kidney
 * @param midline          what the side was measured against; null when there is no side
 */
public record TumourSite(int tumourComponents, Side side, double kidneyMl, Midline midline) {

    /** Smallest kidney component, in ml, that counts as the other kidney for the midline. */
    public static final double MIN_OTHER_KIDNEY_ML = 10;

    /** Voxels of at least this many HU are the body when the midline comes from a CT. */
    public static final float BODY_HU = -500;

    /** A side of the patient. */
    public enum Side {
        /** The patient's left (smaller RAS world x). */
        LEFT,
        /** The patient's right (larger RAS world x). */
        RIGHT;

        /** @return "left" or "right", as reports write it */
        public String json() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** What the midline was taken from. */
    public enum Midline {
        /** Halfway between the holding kidney and the other kidney. */
        OTHER_KIDNEY,
        /** The centroid of the body in the CT. */
        BODY,
        /** The centre of the image's field of view. */
        IMAGE_CENTRE;

        /** @return "other_kidney", "body" or "image_centre", as reports write it */
        public String json() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * @param labels       a label map (values 0..255) on the image's grid, e.g. {@link SegmentationResult#labels()}
     * @param tumourValues the label values that are tumour
     * @param kidneyValues the label values that are kidney (may include tumour values); empty: no side
     * @param ct           the CT in HU on the labels' grid, for the body midline; null when there is none
     * @return where the tumour is
     * @throws IllegalArgumentException if {@code ct} is not on the labels' grid
     */
    public static TumourSite find(Volume labels, int[] tumourValues, int[] kidneyValues, Volume ct) {
        if (ct != null && !ct.sameGrid(labels)) {
            throw new IllegalArgumentException(ct.source() + " is not on the grid of " + labels.source());
        }
        ConnectedComponents tumour = ConnectedComponents.of(labels, v -> has(tumourValues, v));
        if (tumour.count() == 0 || kidneyValues.length == 0) {
            return new TumourSite(tumour.count(), null, Double.NaN, null);
        }
        long seed = tumour.voxels(tumour.largest())[0];
        ConnectedComponents organ = ConnectedComponents.of(labels, v -> has(tumourValues, v) || has(kidneyValues, v));
        int n = organ.count();
        long[] own = new long[n]; // per component: kidney voxels that are not tumour
        long[] labelled = new long[n]; // per component: voxels of the kidney label
        double[][] sum = new double[n][3]; // per component: sum of (i, j, k) over its own kidney voxels
        int nx = labels.nx();
        int ny = labels.ny();
        for (int p = 0; p < organ.voxelCount(); p++) {
            long idx = organ.voxel(p);
            int v = Math.round(labels.get(idx));
            int c = organ.componentOf(p);
            if (has(kidneyValues, v)) {
                labelled[c]++;
                if (!has(tumourValues, v)) {
                    own[c]++;
                    sum[c][0] += idx % nx;
                    sum[c][1] += (idx / nx) % ny;
                    sum[c][2] += idx / ((long) nx * ny);
                }
            }
        }
        int holding = organ.componentAt(seed);
        if (own[holding] == 0) {
            return new TumourSite(tumour.count(), null, Double.NaN, null);
        }
        Geometry g = labels.geometry();
        double voxelMl = g.voxelVolumeMm3() / 1000.0;
        double kidneyX = worldX(g, sum[holding], own[holding]);
        int other = -1;
        for (int c = 0; c < n; c++) {
            if (c != holding && own[c] * voxelMl >= MIN_OTHER_KIDNEY_ML && (other < 0 || own[c] > own[other])) {
                other = c;
            }
        }
        double midlineX;
        Midline from;
        double[] body = ct == null ? null : bodySum(ct);
        if (other >= 0) {
            midlineX = (kidneyX + worldX(g, sum[other], own[other])) / 2;
            from = Midline.OTHER_KIDNEY;
        } else if (body != null && body[3] > 0) {
            midlineX = worldX(g, Arrays.copyOf(body, 3), (long) body[3]);
            from = Midline.BODY;
        } else {
            midlineX = g.toWorld((labels.nx() - 1) / 2.0, (labels.ny() - 1) / 2.0, (labels.nz() - 1) / 2.0)[0];
            from = Midline.IMAGE_CENTRE;
        }
        Side side = kidneyX > midlineX ? Side.RIGHT : kidneyX < midlineX ? Side.LEFT : null;
        return new TumourSite(tumour.count(), side, labelled[holding] * voxelMl, side == null ? null : from);
    }

    /** World x of the mean voxel index: the affine is linear, so this is the mean of the voxels' world x. */
    private static double worldX(Geometry g, double[] sumIjk, long count) {
        return g.toWorld(sumIjk[0] / count, sumIjk[1] / count, sumIjk[2] / count)[0];
    }

    /** @return {sum i, sum j, sum k, count} over the voxels of at least {@link #BODY_HU} */
    private static double[] bodySum(Volume ct) {
        int nx = ct.nx();
        int ny = ct.ny();
        int plane = nx * ny;
        MemorySegment d = ct.data();
        double[][] perSlice = new double[ct.nz()][];
        IntStream.range(0, ct.nz()).parallel().forEach(z -> {
            float[] buf = new float[plane]; // (ny, nx) one slice
            MemorySegment.copy(d, ValueLayout.JAVA_FLOAT, (long) z * plane * Float.BYTES, buf, 0, plane);
            double si = 0;
            double sj = 0;
            long count = 0;
            for (int i = 0; i < plane; i++) {
                if (buf[i] >= BODY_HU) {
                    si += i % nx;
                    sj += i / nx;
                    count++;
                }
            }
            perSlice[z] = new double[] {si, sj, (double) z * count, count};
        });
        double[] total = new double[4];
        for (double[] s : perSlice) {
            for (int a = 0; a < 4; a++) {
                total[a] += s[a];
            }
        }
        return total;
    }

    private static boolean has(int[] values, int v) {
        if (v == 0) {
            return false;
        }
        for (int x : values) {
            if (x == v) {
                return true;
            }
        }
        return false;
    }
}
