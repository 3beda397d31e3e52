package org.renalmtl.segmentation;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import org.renalmtl.loader.Volume;

/**
 * nnU-Net's {@code crop_to_nonzero}: the bounding box of the voxels that are non-zero in any channel, and, for
 * normalisation "over the mask", that non-zero mask with its holes filled ({@code binary_fill_holes}: zero
 * voxels not 6-connected to the border become part of it). Filling never changes the box, so the box is taken
 * from the raw non-zero voxels.
 */
final class NonZeroCrop {

    private NonZeroCrop() {
    }

    /**
     * @param channels same-shape volumes, (nz, ny, nx) each
     * @return {start[3], end[3]} in file axis order (z, y, x), end exclusive
     * @throws IllegalArgumentException when every voxel is zero (nnU-Net has no box to crop to)
     */
    static int[][] bbox(List<Volume> channels) {
        Volume first = channels.getFirst();
        int nz = first.nz();
        int ny = first.ny();
        int nx = first.nx();
        int[] lo = {Integer.MAX_VALUE, Integer.MAX_VALUE, Integer.MAX_VALUE};
        int[] hi = {-1, -1, -1};
        for (int z = 0; z < nz; z++) {
            for (int y = 0; y < ny; y++) {
                long row = first.index(z, y, 0);
                int xmin = Integer.MAX_VALUE;
                int xmax = -1;
                for (Volume v : channels) {
                    for (int x = 0; x < nx; x++) {
                        if (v.get(row + x) != 0f) {
                            xmin = Math.min(xmin, x);
                            xmax = Math.max(xmax, x);
                        }
                    }
                }
                if (xmax >= 0) {
                    lo[0] = Math.min(lo[0], z);
                    hi[0] = Math.max(hi[0], z);
                    lo[1] = Math.min(lo[1], y);
                    hi[1] = Math.max(hi[1], y);
                    lo[2] = Math.min(lo[2], xmin);
                    hi[2] = Math.max(hi[2], xmax);
                }
            }
        }
        if (hi[0] < 0) {
            throw new IllegalArgumentException("every voxel is zero: nothing to segment");
        }
        return new int[][] {lo, {hi[0] + 1, hi[1] + 1, hi[2] + 1}};
    }

    /**
     * The hole-filled non-zero mask of a cropped grid (any channel non-zero). Every zero voxel on the crop's
     * faces touches the background outside the box (or the image border), so flooding from the faces finds
     * exactly the background {@code binary_fill_holes} keeps.
     *
     * @param data  (C, D, H, W) cropped data, before normalisation
     * @param arena where the mask lives
     * @return (D, H, W) bytes, 1 inside the filled mask
     */
    static MemorySegment filledMask(Grid data, Arena arena) {
        int[] s = data.shape();
        long n = data.voxels();
        MemorySegment mask = arena.allocate(n); // (D, H, W): 0 unknown zero, 1 non-zero, 2 outside
        for (long i = 0; i < n; i++) {
            for (int c = 0; c < data.channels(); c++) {
                if (data.get(c, i) != 0f) {
                    mask.set(ValueLayout.JAVA_BYTE, i, (byte) 1);
                    break;
                }
            }
        }
        LongStack stack = new LongStack();
        for (int z = 0; z < s[0]; z++) {
            for (int y = 0; y < s[1]; y++) {
                for (int x = 0; x < s[2]; x++) {
                    boolean face = z == 0 || y == 0 || x == 0 || z == s[0] - 1 || y == s[1] - 1 || x == s[2] - 1;
                    if (face) {
                        visit(mask, data.index(z, y, x), stack);
                    }
                }
            }
        }
        long plane = (long) s[1] * s[2];
        while (stack.size > 0) {
            long i = stack.pop();
            int z = (int) (i / plane);
            int y = (int) (i % plane / s[2]);
            int x = (int) (i % s[2]);
            if (z > 0) {
                visit(mask, i - plane, stack);
            }
            if (z < s[0] - 1) {
                visit(mask, i + plane, stack);
            }
            if (y > 0) {
                visit(mask, i - s[2], stack);
            }
            if (y < s[1] - 1) {
                visit(mask, i + s[2], stack);
            }
            if (x > 0) {
                visit(mask, i - 1, stack);
            }
            if (x < s[2] - 1) {
                visit(mask, i + 1, stack);
            }
        }
        for (long i = 0; i < n; i++) {
            mask.set(ValueLayout.JAVA_BYTE, i, (byte) (mask.get(ValueLayout.JAVA_BYTE, i) == 2 ? 0 : 1));
        }
        return mask;
    }

    private static void visit(MemorySegment mask, long i, LongStack stack) {
        if (mask.get(ValueLayout.JAVA_BYTE, i) == 0) {
            mask.set(ValueLayout.JAVA_BYTE, i, (byte) 2);
            stack.push(i);
        }
    }

    /** A growable stack of voxel indices for the flood fill. */
    private static final class LongStack {
        private long[] items = new long[1024]; // (capacity) pending voxel indices
        private int size;

        void push(long v) {
            if (size == items.length) {
                items = java.util.Arrays.copyOf(items, Math.multiplyExact(items.length, 2));
            }
            items[size++] = v;
        }

        long pop() {
            return items[--size];
        }
    }
}
