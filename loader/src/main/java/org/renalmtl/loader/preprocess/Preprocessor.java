package org.renalmtl.loader.preprocess;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;
import org.renalmtl.loader.Geometry;
import org.renalmtl.loader.MaskRegion;
import org.renalmtl.loader.MaskSelection;
import org.renalmtl.loader.Resampler;
import org.renalmtl.loader.Volume;
import org.renalmtl.loader.VolumeInputException;

/**
 * Turns P phase volumes and a tumour mask into the network input.
 *
 * <ol>
 *   <li>The first phase is the reference. A mask on another grid is resampled onto it first, nearest neighbour in
 *       world coordinates (a reference voxel takes the label of the mask voxel whose region holds its centre, 0
 *       outside the mask's grid); a mask whose grid does not overlap the reference's, or whose selected voxels all
 *       fall outside it, is refused.</li>
 *   <li>ROI: bounding box of the selected mask voxels (largest connected component by default), grown by the
 *       margin in mm on every side.</li>
 *   <li>Network grid: size (D, H, W) at the configured spacing, centred on the ROI box, with its axes along
 *       the reference phase's voxel axes (k, j, i) as stored ({@link Reorientation#NONE}), or along those axes
 *       permuted and flipped to the closest of RAS ({@link Reorientation#RAS}, as nibabel's
 *       {@code as_closest_canonical}). When the ROI box is longer than size × spacing along some axis, all three
 *       spacings are enlarged by the same factor so that the whole ROI fits and the tumour keeps its shape. Around
 *       the ROI the grid shows the real surrounding image.</li>
 *   <li>Every phase is sampled on that grid directly in world coordinates (network voxel → reference voxel →
 *       world → phase voxel, one composed affine), trilinearly, so other phases are resampled onto the
 *       reference with a single interpolation. Samples outside a phase get huLow. A phase that covers none of
 *       the ROI box is refused.</li>
 *   <li>Intensities are clipped to [huLow, huHigh] and normalised (z-score or window).</li>
 * </ol>
 */
public final class Preprocessor {

    private Preprocessor() {
    }

    /**
     * Builds the network input.
     *
     * @param phases    P ≥ 1 phase volumes; the first is the reference
     * @param mask      tumour mask, on the reference phase's grid or on another grid that overlaps it
     * @param selection which mask voxels form the tumour
     * @param spec      network input description
     * @return the (P, D, H, W) input with its ROI; close it when done
     * @throws VolumeInputException naming the file for a missing phase, an empty mask, a mask that misses the
     *                              reference phase, or a phase that does not overlap the ROI
     */
    public static PreprocessedInput run(List<Volume> phases, Volume mask, MaskSelection selection, PreprocessingSpec spec) {
        if (phases.isEmpty()) {
            throw new VolumeInputException("no phase given (need at least the reference phase)");
        }
        for (int p = 0; p < phases.size(); p++) {
            if (phases.get(p) == null) {
                throw new VolumeInputException("phase " + (p + 1) + " of " + phases.size() + " is missing");
            }
        }
        if (mask == null) {
            throw new VolumeInputException("tumour mask is missing");
        }
        Volume ref = phases.getFirst();
        boolean maskResampled = !mask.sameGrid(ref);
        MaskRegion region = maskResampled ? regionOnReference(mask, ref, selection) : MaskRegion.select(mask, selection);
        Geometry rg = ref.geometry();
        double[] rsXyz = rg.spacing();
        double[] rs = {rsXyz[2], rsXyz[1], rsXyz[0]}; // (z, y, x)
        int[] lo = region.lo();
        int[] hi = region.hi();
        double[] boxLo = new double[3]; // (z, y, x) reference voxel coordinates
        double[] boxHi = new double[3];
        for (int a = 0; a < 3; a++) {
            double m = spec.marginMm() / rs[a];
            boxLo[a] = lo[a] - 0.5 - m;
            boxHi[a] = hi[a] + 0.5 + m;
        }
        ReferenceFrame frame = ReferenceFrame.of(rg, ref.shape(), boxLo, boxHi, spec.reorientation());
        double[] fs = frame.spacing();
        double[] fLo = frame.boxLo();
        double[] fHi = frame.boxHi();
        double[] centre = new double[3];
        double scale = 1;
        int[] size = spec.size();
        double[] sp = spec.spacingMm();
        for (int a = 0; a < 3; a++) {
            centre[a] = (fLo[a] + fHi[a]) / 2;
            double extentMm = (fHi[a] - fLo[a]) * fs[a];
            scale = Math.max(scale, extentMm / (size[a] * sp[a]));
        }
        double[] eff = {sp[0] * scale, sp[1] * scale, sp[2] * scale};
        // Network voxel (w, h, d) -> frame voxel (i, j, k): per axis a step of eff/fs frame voxels,
        // centred on the ROI box centre.
        double[] net = new double[16];
        for (int a = 0; a < 3; a++) {
            int col = 2 - a; // (z, y, x) axis a is voxel axis i/j/k number 2 - a
            double step = eff[a] / fs[a];
            net[col * 4 + col] = step;
            net[col * 4 + 3] = centre[a] - (size[a] - 1) / 2.0 * step;
        }
        net[15] = 1;
        Geometry netGeom = frame.geometry().compose(net);

        // The ROI box as a grid of frame voxels, for the coverage check.
        double[] roiMap = new double[16];
        int[] roiN = new int[3];
        for (int a = 0; a < 3; a++) {
            int col = 2 - a;
            roiN[a] = Math.max(1, (int) Math.round(fHi[a] - fLo[a]));
            double step = (fHi[a] - fLo[a]) / roiN[a];
            roiMap[col * 4 + col] = step;
            roiMap[col * 4 + 3] = fLo[a] + step / 2;
        }
        roiMap[15] = 1;
        Geometry roiGeom = frame.geometry().compose(roiMap);
        double[] coverage = new double[phases.size()];
        for (int p = 0; p < phases.size(); p++) {
            coverage[p] = Resampler.overlapFraction(phases.get(p), roiN[0], roiN[1], roiN[2], roiGeom);
            if (coverage[p] == 0) {
                double[] wMin = worldBox(roiGeom, roiN, true);
                double[] wMax = worldBox(roiGeom, roiN, false);
                throw new VolumeInputException(phases.get(p).source() + ": phase does not overlap the tumour region of "
                    + "reference phase " + ref.source() + " (world box " + fmt(wMin) + ".." + fmt(wMax) + " mm)");
            }
        }

        int pCount = phases.size();
        int d = size[0];
        int h = size[1];
        int w = size[2];
        long perPhase = (long) d * h * w;
        Arena arena = Arena.ofShared();
        try {
            MemorySegment out = arena.allocate(perPhase * pCount * Float.BYTES, 64); // (P, D, H, W)
            float fill = (float) spec.huLow();
            for (int p = 0; p < pCount; p++) {
                Volume phase = phases.get(p);
                double[] m = Geometry.multiply(phase.geometry().inverse(), netGeom.affine()); // net voxel -> phase voxel
                Resampler.Sampler s = new Resampler.Sampler(phase);
                long base = p * perPhase;
                IntStream.range(0, d).parallel().forEach(k -> {
                    for (int j = 0; j < h; j++) {
                        double bx = m[1] * j + m[2] * k + m[3];
                        double by = m[5] * j + m[6] * k + m[7];
                        double bz = m[9] * j + m[10] * k + m[11];
                        long row = base + ((long) k * h + j) * w;
                        for (int i = 0; i < w; i++) {
                            float hu = s.trilinear(bx + m[0] * i, by + m[4] * i, bz + m[8] * i, fill);
                            out.setAtIndex(ValueLayout.JAVA_FLOAT, row + i, spec.normalise(hu));
                        }
                    }
                });
            }
            double[] cornersLo = {boxLo[2], boxLo[1], boxLo[0]};
            double[] cornersHi = {boxHi[2], boxHi[1], boxHi[0]};
            double[] wMin = new double[] {Double.MAX_VALUE, Double.MAX_VALUE, Double.MAX_VALUE};
            double[] wMax = new double[] {-Double.MAX_VALUE, -Double.MAX_VALUE, -Double.MAX_VALUE};
            for (int c = 0; c < 8; c++) {
                double[] wpt = rg.toWorld((c & 1) == 0 ? cornersLo[0] : cornersHi[0],
                    (c & 2) == 0 ? cornersLo[1] : cornersHi[1], (c & 4) == 0 ? cornersLo[2] : cornersHi[2]);
                for (int a = 0; a < 3; a++) {
                    wMin[a] = Math.min(wMin[a], wpt[a]);
                    wMax[a] = Math.max(wMax[a], wpt[a]);
                }
            }
            Roi roi = new Roi(lo, hi, boxLo, boxHi, wMin, wMax, region.size(), region.components());
            return new PreprocessedInput(arena, out, new int[] {pCount, d, h, w}, roi, netGeom, eff, scale > 1, coverage,
                maskResampled);
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    /**
     * The selected region of a mask on another grid, resampled onto the reference phase's grid (nearest neighbour,
     * 0 outside the mask's grid).
     */
    private static MaskRegion regionOnReference(Volume mask, Volume ref, MaskSelection selection) {
        double[] mMin = worldBox(mask.geometry(), mask.shape(), true);
        double[] mMax = worldBox(mask.geometry(), mask.shape(), false);
        double[] rMin = worldBox(ref.geometry(), ref.shape(), true);
        double[] rMax = worldBox(ref.geometry(), ref.shape(), false);
        for (int a = 0; a < 3; a++) {
            if (mMax[a] <= rMin[a] || rMax[a] <= mMin[a]) {
                throw new VolumeInputException(mask.source() + ": mask does not overlap reference phase " + ref.source()
                    + " (mask grid world box " + fmt(mMin) + ".." + fmt(mMax) + " mm, phase " + fmt(rMin) + ".."
                    + fmt(rMax) + " mm): is it the mask of another scan?");
            }
        }
        try (Volume onRef = Resampler.resampleLike(mask, ref, Resampler.Interpolation.NEAREST, 0f)) {
            boolean any = false;
            for (long i = 0; i < onRef.voxelCount() && !any; i++) {
                any = selection.selects(onRef.get(i));
            }
            if (!any) {
                MaskRegion.select(mask, selection); // an empty mask is reported as such
                throw new VolumeInputException(mask.source() + ": mask is on another grid than reference phase "
                    + ref.source() + ", and its voxels with " + (selection.isLargestComponent() ? "a non-zero label"
                    : "label " + selection.label()) + " all lie outside that phase's scan");
            }
            return MaskRegion.select(onRef, selection);
        }
    }

    /** A corner of the world-axis-aligned box around a grid's voxels (edges -0.5 .. n - 0.5; n is (nz, ny, nx)). */
    private static double[] worldBox(Geometry g, int[] n, boolean min) {
        double[] r = new double[3];
        Arrays.fill(r, min ? Double.MAX_VALUE : -Double.MAX_VALUE);
        for (int c = 0; c < 8; c++) {
            double[] wpt = g.toWorld((c & 1) == 0 ? -0.5 : n[2] - 0.5, (c & 2) == 0 ? -0.5 : n[1] - 0.5,
                (c & 4) == 0 ? -0.5 : n[0] - 0.5);
            for (int a = 0; a < 3; a++) {
                r[a] = min ? Math.min(r[a], wpt[a]) : Math.max(r[a], wpt[a]);
            }
        }
        return r;
    }

    private static String fmt(double[] v) {
        return String.format("(%.1f, %.1f, %.1f)", v[0], v[1], v[2]);
    }
}
