package org.renalmtl.segmentation;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.List;
import org.renalmtl.loader.Volume;

/**
 * nnU-Net's {@code crop_to_nonzero}: the bounding box of the voxels that are non-zero in any channel, and, for
 * normalisation "over the mask", that non-zero mask with its holes filled ({@code binary_fill_holes}: zero
 * voxels not 6-connected to the border become part of it). Filling never changes the box, so the box is taken
 * from the raw non-zero voxels.
 */
final class NonZeroCrop {

    private static final int RUN = 1 << 14; // voxels read at a time

    private NonZeroCrop() {
    }

    /**
     * @param channels same-shape volumes, (nz, ny, nx) each
     * @return {start[3], end[3]} in file axis order (z, y, x), end exclusive
     * @throws IllegalArgumentException when every voxel is zero (nnU-Net has no box to crop to)
     */
    static int[][] bbox(List<Volume> channels) {
        Volume first = channels.getFirst();
        int ny = first.ny();
        int nx = first.nx();
        // per chunk of slices {lo z, y, x, hi z, y, x}; min and max merge exactly in any order
        List<int[]> parts = Chunks.map(first.nz(), 1, (z0, z1) -> {
            int[] b = {Integer.MAX_VALUE, Integer.MAX_VALUE, Integer.MAX_VALUE, -1, -1, -1};
            float[] row = new float[nx]; // (nx) one row of one channel
            for (int z = (int) z0; z < z1; z++) {
                for (int y = 0; y < ny; y++) {
                    long start = first.index(z, y, 0) * Float.BYTES;
                    int xmin = Integer.MAX_VALUE;
                    int xmax = -1;
                    for (Volume v : channels) {
                        MemorySegment.copy(v.data(), ValueLayout.JAVA_FLOAT, start, row, 0, nx);
                        for (int x = 0; x < nx; x++) {
                            if (row[x] != 0f) {
                                xmin = Math.min(xmin, x);
                                xmax = Math.max(xmax, x);
                            }
                        }
                    }
                    if (xmax >= 0) {
                        b[0] = Math.min(b[0], z);
                        b[1] = Math.min(b[1], y);
                        b[2] = Math.min(b[2], xmin);
                        b[3] = Math.max(b[3], z);
                        b[4] = Math.max(b[4], y);
                        b[5] = Math.max(b[5], xmax);
                    }
                }
            }
            return b;
        });
        int[] lo = {Integer.MAX_VALUE, Integer.MAX_VALUE, Integer.MAX_VALUE};
        int[] hi = {-1, -1, -1};
        for (int[] b : parts) {
            for (int a = 0; a < 3; a++) {
                lo[a] = Math.min(lo[a], b[a]);
                hi[a] = Math.max(hi[a], b[3 + a]);
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
        Chunks.forEach(n, RUN, (from, to) -> {
            float[] v = new float[RUN];
            byte[] m = new byte[RUN];
            for (long i = from; i < to; i += RUN) {
                int len = (int) Math.min(RUN, to - i);
                Arrays.fill(m, (byte) 0);
                for (int c = 0; c < data.channels(); c++) {
                    data.read(c, i, v, 0, len);
                    for (int j = 0; j < len; j++) {
                        if (v[j] != 0f) {
                            m[j] = 1;
                        }
                    }
                }
                MemorySegment.copy(m, 0, mask, ValueLayout.JAVA_BYTE, i, len);
            }
        });
        // the flood reaches the same voxels whatever the order the faces are visited in
        LongStack stack = new LongStack();
        for (int z = 0; z < s[0]; z++) {
            boolean zFace = z == 0 || z == s[0] - 1;
            for (int y = 0; y < s[1]; y++) {
                if (zFace || y == 0 || y == s[1] - 1) {
                    for (int x = 0; x < s[2]; x++) {
                        visit(mask, data.index(z, y, x), stack);
                    }
                } else {
                    visit(mask, data.index(z, y, 0), stack);
                    visit(mask, data.index(z, y, s[2] - 1), stack);
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
        Chunks.forEach(n, RUN, (from, to) -> {
            byte[] m = new byte[RUN];
            for (long i = from; i < to; i += RUN) {
                int len = (int) Math.min(RUN, to - i);
                MemorySegment.copy(mask, ValueLayout.JAVA_BYTE, i, m, 0, len);
                for (int j = 0; j < len; j++) {
                    m[j] = (byte) (m[j] == 2 ? 0 : 1);
                }
                MemorySegment.copy(m, 0, mask, ValueLayout.JAVA_BYTE, i, len);
            }
        });
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
                items = Arrays.copyOf(items, Math.multiplyExact(items.length, 2));
            }
            items[size++] = v;
        }

        long pop() {
            return items[--size];
        }
    }
}
