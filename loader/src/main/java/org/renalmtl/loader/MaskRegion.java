package org.renalmtl.loader;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;

/**
 * The voxels a {@link MaskSelection} picks out of a mask, with their bounding box.
 *
 * <p>Connected components use 26-connectivity (faces, edges and corners), the usual choice for tumour masks
 * whose thin parts may touch only diagonally on anisotropic grids ({@link ConnectedComponents}: memory grows
 * with the mask, not with the grid, so a 512×512×1000 grid costs nothing beyond its foreground).
 */
public final class MaskRegion {

    /**
     * Most foreground voxels a mask may have: 2^26 (67 million; 33 litres at 0.7×0.7×1 mm). Labelling costs
     * 12 bytes per foreground voxel, and a mask with more is an image given in place of a mask.
     */
    public static final int MAX_FOREGROUND = 1 << 26;

    private final long[] indices; // (n) sorted float indices (z·ny + y)·nx + x of the selected voxels
    private final int[] lo; // (z, y, x) inclusive
    private final int[] hi; // (z, y, x) inclusive
    private final int components;
    private final int nx;
    private final int ny;

    private MaskRegion(long[] indices, int[] lo, int[] hi, int components, int nx, int ny) {
        this.indices = indices;
        this.lo = lo;
        this.hi = hi;
        this.components = components;
        this.nx = nx;
        this.ny = ny;
    }

    /**
     * Selects voxels from a mask.
     *
     * @param mask      the mask volume
     * @param selection which voxels
     * @return the region
     * @throws VolumeInputException naming the mask when nothing is selected
     */
    public static MaskRegion select(Volume mask, MaskSelection selection) {
        return select(mask, selection, MAX_FOREGROUND);
    }

    static MaskRegion select(Volume mask, MaskSelection selection, int maxForeground) {
        long[] fg = foreground(mask, selection.label(), maxForeground);
        if (fg.length == 0) {
            throw new VolumeInputException(mask.source() + ": mask is empty (no voxel with "
                + (selection.isLargestComponent() ? "a non-zero label" : "label " + selection.label()) + ")");
        }
        int nx = mask.nx();
        int ny = mask.ny();
        int nz = mask.nz();
        long[] chosen = fg;
        int comps = 1;
        if (selection.isLargestComponent()) {
            ConnectedComponents cc = ConnectedComponents.of(fg, nx, ny, nz);
            comps = cc.count();
            chosen = cc.voxels(cc.largest());
        }
        int[] lo = {Integer.MAX_VALUE, Integer.MAX_VALUE, Integer.MAX_VALUE};
        int[] hi = {-1, -1, -1};
        for (long idx : chosen) {
            int x = (int) (idx % nx);
            int y = (int) ((idx / nx) % ny);
            int z = (int) (idx / ((long) nx * ny));
            lo[0] = Math.min(lo[0], z);
            lo[1] = Math.min(lo[1], y);
            lo[2] = Math.min(lo[2], x);
            hi[0] = Math.max(hi[0], z);
            hi[1] = Math.max(hi[1], y);
            hi[2] = Math.max(hi[2], x);
        }
        return new MaskRegion(chosen, lo, hi, comps, nx, ny);
    }

    /** @return number of selected voxels */
    public int size() {
        return indices.length;
    }

    /** @return float index of the n-th selected voxel, in increasing order */
    public long index(int n) {
        return indices[n];
    }

    /** @return x of the n-th selected voxel */
    public int x(int n) {
        return (int) (indices[n] % nx);
    }

    /** @return y of the n-th selected voxel */
    public int y(int n) {
        return (int) ((indices[n] / nx) % ny);
    }

    /** @return z of the n-th selected voxel */
    public int z(int n) {
        return (int) (indices[n] / ((long) nx * ny));
    }

    /** @return whether the voxel at float index {@code idx} is selected */
    public boolean contains(long idx) {
        return Arrays.binarySearch(indices, idx) >= 0;
    }

    /** @return inclusive lower corner of the bounding box, (z, y, x) */
    public int[] lo() {
        return lo.clone();
    }

    /** @return inclusive upper corner of the bounding box, (z, y, x) */
    public int[] hi() {
        return hi.clone();
    }

    /** @return number of connected components among the non-zero voxels (1 when a label was chosen) */
    public int components() {
        return components;
    }

    private static long[] foreground(Volume mask, int label, int maxForeground) {
        MemorySegment d = mask.data();
        int nx = mask.nx();
        int ny = mask.ny();
        int plane = nx * ny;
        // round(v) == label  <=>  label - 0.5 <= v < label + 0.5 (Math.round is floor(v + 0.5)); for the
        // default, round(v) != 0  <=>  v < -0.5 or v >= 0.5. Comparisons instead of rounding keep the scan of a
        // large grid cheap.
        float lo = label - 0.5f;
        float hi = label + 0.5f;
        long[][] perSlice = new long[mask.nz()][];
        AtomicLong found = new AtomicLong();
        // Labels are never negative; a negative voxel means an image (a CT, with air at -1000 HU)
        // was passed as the mask, which would otherwise make every non-zero voxel "tumour".
        AtomicLong notLabel = new AtomicLong(-1);
        IntStream.range(0, mask.nz()).parallel().forEach(z -> {
            float[] buf = new float[plane]; // (ny, nx) one slice
            MemorySegment.copy(d, ValueLayout.JAVA_FLOAT, (long) z * plane * Float.BYTES, buf, 0, plane);
            long base = (long) z * plane;
            int count = 0;
            long[] hits = new long[16];
            for (int i = 0; i < plane; i++) {
                float v = buf[i];
                if (v < -0.5f) {
                    notLabel.compareAndSet(-1, base + i);
                }
                boolean in = label == 0 ? (v < -0.5f || v >= 0.5f) : (v >= lo && v < hi);
                if (in) {
                    if (count == hits.length) {
                        hits = Arrays.copyOf(hits, count * 2);
                    }
                    hits[count++] = base + i;
                }
            }
            perSlice[z] = Arrays.copyOf(hits, count);
            if (found.addAndGet(count) > maxForeground) {
                throw new VolumeInputException(mask.source() + ": more than " + maxForeground
                    + " mask voxels selected; is this an image rather than a mask?");
            }
        });
        long bad = notLabel.get();
        if (bad >= 0) {
            float v = d.getAtIndex(ValueLayout.JAVA_FLOAT, bad);
            throw new VolumeInputException(mask.source() + ": not a label mask: voxel (z, y, x) = (" + bad / plane + ", "
                + (bad % plane) / nx + ", " + bad % nx + ") holds " + v + ", and labels are never negative (is this an image?)");
        }
        int total = 0;
        for (long[] s : perSlice) {
            total += s.length;
        }
        long[] all = new long[total];
        int n = 0;
        for (long[] s : perSlice) {
            System.arraycopy(s, 0, all, n, s.length);
            n += s.length;
        }
        return all;
    }
}
