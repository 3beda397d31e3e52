package org.renalmtl.loader;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.function.IntPredicate;
import java.util.stream.IntStream;

/**
 * The 26-connected components (faces, edges and corners) of a set of voxels of a grid. Labelling works on the
 * set's voxels only (a union-find over their sorted float indices, each voxel looking at its 13 neighbours
 * already visited), so memory grows with the set, not with the grid: 12 bytes a voxel.
 *
 * <p>Components are numbered 0, 1, ... in the scan order (z, y, x, x fastest) of their first voxel;
 * {@link #largest()} breaks ties by that order, so the same set always gives the same component.
 */
public final class ConnectedComponents {
    private final long[] voxels; // (n) sorted float indices (z·ny + y)·nx + x of the set's voxels
    private final int[] component; // (n) component number of each voxel
    private final int[] sizes; // (count) voxels per component

    private ConnectedComponents(long[] voxels, int[] component, int[] sizes) {
        this.voxels = voxels;
        this.component = component;
        this.sizes = sizes;
    }

    /**
     * Labels a set of voxels.
     *
     * @param sortedIndices the set's float indices, strictly increasing (kept, not copied)
     * @param nx            grid columns
     * @param ny            grid rows
     * @param nz            grid slices
     * @return the components
     */
    public static ConnectedComponents of(long[] sortedIndices, int nx, int ny, int nz) {
        int[] parent = label(sortedIndices, nx, ny, nz);
        int[] number = new int[sortedIndices.length]; // component number of each root, by the root's position
        int count = 0;
        int[] component = new int[sortedIndices.length];
        for (int p = 0; p < parent.length; p++) {
            // A root is its component's first voxel (unions keep the smaller index), so it is met first.
            if (parent[p] == p) {
                number[p] = count++;
            }
            component[p] = number[parent[p]];
        }
        int[] sizes = new int[count];
        for (int c : component) {
            sizes[c]++;
        }
        return new ConnectedComponents(sortedIndices, component, sizes);
    }

    /**
     * Labels the voxels of a label map whose label (the value rounded to the nearest integer) is in a set.
     *
     * @param labels a label map
     * @param member which labels belong to the set
     * @return the components
     */
    public static ConnectedComponents of(Volume labels, IntPredicate member) {
        MemorySegment d = labels.data();
        int plane = labels.nx() * labels.ny();
        long[][] perSlice = new long[labels.nz()][];
        IntStream.range(0, labels.nz()).parallel().forEach(z -> {
            float[] buf = new float[plane]; // (ny, nx) one slice
            MemorySegment.copy(d, ValueLayout.JAVA_FLOAT, (long) z * plane * Float.BYTES, buf, 0, plane);
            long[] hits = new long[16];
            int count = 0;
            for (int i = 0; i < plane; i++) {
                if (member.test(Math.round(buf[i]))) {
                    if (count == hits.length) {
                        hits = Arrays.copyOf(hits, count * 2);
                    }
                    hits[count++] = (long) z * plane + i;
                }
            }
            perSlice[z] = Arrays.copyOf(hits, count);
        });
        long total = 0;
        for (long[] s : perSlice) {
            total += s.length;
        }
        long[] all = new long[Math.toIntExact(total)];
        int n = 0;
        for (long[] s : perSlice) {
            System.arraycopy(s, 0, all, n, s.length);
            n += s.length;
        }
        return of(all, labels.nx(), labels.ny(), labels.nz());
    }

    /** @return the number of components */
    public int count() {
        return sizes.length;
    }

    /** @return the number of voxels in the set */
    public int voxelCount() {
        return voxels.length;
    }

    /** @return float index of the set's n-th voxel, in increasing order */
    public long voxel(int n) {
        return voxels[n];
    }

    /** @return the component of the set's n-th voxel */
    public int componentOf(int n) {
        return component[n];
    }

    /** @return the component holding the voxel at float index {@code index}, or -1 if it is not in the set */
    public int componentAt(long index) {
        int n = Arrays.binarySearch(voxels, index);
        return n >= 0 ? component[n] : -1;
    }

    /** @return voxels in component {@code c} */
    public int size(int c) {
        return sizes[c];
    }

    /** @return the component with the most voxels (the first in scan order among equals); -1 for an empty set */
    public int largest() {
        int best = -1;
        for (int c = 0; c < sizes.length; c++) {
            if (best < 0 || sizes[c] > sizes[best]) {
                best = c;
            }
        }
        return best;
    }

    /** @return the float indices of component {@code c}'s voxels, increasing */
    public long[] voxels(int c) {
        long[] out = new long[sizes[c]];
        int n = 0;
        for (int p = 0; p < voxels.length; p++) {
            if (component[p] == c) {
                out[n++] = voxels[p];
            }
        }
        return out;
    }

    /** Union-find over the sorted set; each voxel looks at its 13 already-visited neighbours. */
    private static int[] label(long[] fg, int nx, int ny, int nz) {
        int[] parent = new int[fg.length];
        for (int p = 0; p < parent.length; p++) {
            parent[p] = p;
        }
        long plane = (long) nx * ny;
        for (int p = 0; p < fg.length; p++) {
            long idx = fg[p];
            int x = (int) (idx % nx);
            int y = (int) ((idx / nx) % ny);
            int z = (int) (idx / plane);
            for (int dz = -1; dz <= 0; dz++) {
                for (int dy = -1; dy <= 1; dy++) {
                    for (int dx = -1; dx <= 1; dx++) {
                        if (dz == 0 && (dy > 0 || (dy == 0 && dx >= 0))) {
                            continue;
                        }
                        int qx = x + dx;
                        int qy = y + dy;
                        int qz = z + dz;
                        if (qx < 0 || qx >= nx || qy < 0 || qy >= ny || qz < 0 || qz >= nz) {
                            continue;
                        }
                        int q = Arrays.binarySearch(fg, 0, p, qz * plane + (long) qy * nx + qx);
                        if (q >= 0) {
                            union(parent, p, q);
                        }
                    }
                }
            }
        }
        for (int p = 0; p < parent.length; p++) {
            parent[p] = find(parent, p);
        }
        return parent;
    }

    private static int find(int[] parent, int p) {
        int r = p;
        while (parent[r] != r) {
            r = parent[r];
        }
        while (parent[p] != r) {
            int next = parent[p];
            parent[p] = r;
            p = next;
        }
        return r;
    }

    private static void union(int[] parent, int a, int b) {
        int ra = find(parent, a);
        int rb = find(parent, b);
        if (ra != rb) {
            // Attach to the smaller index so the root of a component is its first voxel in scan order.
            if (ra < rb) {
                parent[rb] = ra;
            } else {
                parent[ra] = rb;
            }
        }
    }
}
