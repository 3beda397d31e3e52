package org.renalmtl.loader.preprocess;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;
import org.renalmtl.loader.Geometry;
import org.renalmtl.loader.NiftiWriter;
import org.renalmtl.loader.Volume;

/**
 * The network input: P phases of a (D, H, W) grid as one off-heap float32 buffer of shape (P, D, H, W) in C
 * order (w fastest, then h, d, p), already clipped and normalised.
 *
 * <p>Orientation: by default the grid is the tumour ROI sampled along the reference phase's own voxel axes,
 * without any reorientation to RAS: index d runs along the reference's k (z) axis, h along j (y), w along i (x),
 * each in the direction the reference file stores them; with {@link Reorientation#RAS} along those axes permuted
 * and flipped to the closest of R, A, S. {@link #geometry()} gives the exact network-voxel → world map.
 */
public final class PreprocessedInput implements AutoCloseable {

    private final Arena arena;
    private final MemorySegment data; // (P, D, H, W) float32, native byte order
    private final int[] shape; // {P, D, H, W}
    private final Roi roi;
    private final Geometry geometry;
    private final double[] spacingMm; // (z, y, x) effective network voxel size
    private final boolean scaledToFit;
    private final double[] coverage; // (P) fraction of the ROI box inside each phase
    private final boolean maskResampled;

    PreprocessedInput(Arena arena, MemorySegment data, int[] shape, Roi roi, Geometry geometry, double[] spacingMm,
                      boolean scaledToFit, double[] coverage, boolean maskResampled) {
        this.arena = arena;
        this.data = data;
        this.shape = shape.clone();
        this.roi = roi;
        this.geometry = geometry;
        this.spacingMm = spacingMm.clone();
        this.scaledToFit = scaledToFit;
        this.coverage = coverage.clone();
        this.maskResampled = maskResampled;
    }

    /** @return the (P, D, H, W) float32 input, C order, native byte order */
    public MemorySegment data() {
        return data;
    }

    /** @return {P, D, H, W} */
    public int[] shape() {
        return shape.clone();
    }

    /** @return the tumour region used */
    public Roi roi() {
        return roi;
    }

    /** @return network voxel (w, h, d) → world mm (RAS+); codes copied from the reference phase */
    public Geometry geometry() {
        return geometry;
    }

    /**
     * @return the network voxel size (z, y, x) in mm: the configured spacing, or larger by one common factor when
     *     the ROI did not fit (see {@link #scaledToFit()})
     */
    public double[] spacingMm() {
        return spacingMm.clone();
    }

    /** @return true when the ROI with its margin was larger than size × spacing and the spacing was enlarged */
    public boolean scaledToFit() {
        return scaledToFit;
    }

    /** @return per phase, the fraction of the ROI box (with margin) that the phase's image covers, 0..1 */
    public double[] coverage() {
        return coverage.clone();
    }

    /** @return true when the mask was on another grid and was resampled onto the reference phase's (nearest) */
    public boolean maskResampled() {
        return maskResampled;
    }

    /**
     * Copies one phase into a volume with the network grid's geometry.
     *
     * @param p phase index
     * @return a new (D, H, W) volume; close it when done
     */
    public Volume phaseVolume(int p) {
        Volume v = Volume.allocate(shape[1], shape[2], shape[3], geometry, "network input phase " + p);
        long n = (long) shape[1] * shape[2] * shape[3] * Float.BYTES;
        MemorySegment.copy(data, p * n, v.data(), 0, n);
        return v;
    }

    /**
     * Writes every phase as a float32 NIfTI file {@code dir/input_<name>.nii.gz} on the network grid, so that a
     * user can see what the network saw (values are normalised, not HU).
     *
     * @param dir        an existing directory
     * @param phaseNames one name per phase
     * @return the files written
     */
    public List<Path> save(Path dir, List<String> phaseNames) {
        if (phaseNames.size() != shape[0]) {
            throw new IllegalArgumentException(phaseNames.size() + " names for " + shape[0] + " phases");
        }
        Path[] out = new Path[shape[0]];
        for (int p = 0; p < shape[0]; p++) {
            out[p] = dir.resolve("input_" + phaseNames.get(p) + ".nii.gz");
            try (Volume v = phaseVolume(p)) {
                NiftiWriter.writeFloat(v, out[p]);
            }
        }
        return List.of(out);
    }

    /** Frees the buffer. */
    @Override
    public void close() {
        arena.close();
    }
}
