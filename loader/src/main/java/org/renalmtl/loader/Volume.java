package org.renalmtl.loader;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Optional;

/**
 * One scalar 3-D volume: float32 voxels off-heap (after scl_slope/scl_inter), its grid geometry, and where it
 * came from.
 *
 * <p>Layout: a (D = nz, H = ny, W = nx) array in C order, x fastest, which is NIfTI's own order; voxel
 * {@code [z][y][x]} sits at float index {@code (z·ny + y)·nx + x} and has voxel indices
 * {@code (i, j, k) = (x, y, z)} for {@link Geometry}. Memory is 4 bytes a voxel in a shared arena (so that
 * parallel streams may read and write it); {@link #close()} frees it, after which the segment must not be
 * touched.
 */
public final class Volume implements AutoCloseable {

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT;

    private final Arena arena;
    private final MemorySegment data; // (nz, ny, nx) float32, x fastest, native byte order
    private final int nx;
    private final int ny;
    private final int nz;
    private final Geometry geometry;
    private final String source;
    private final NiftiHeader header; // null for volumes made in memory

    private Volume(int nz, int ny, int nx, Geometry geometry, String source, NiftiHeader header) {
        if (nx < 1 || ny < 1 || nz < 1) {
            throw new IllegalArgumentException("volume dimensions must be positive: " + nz + "x" + ny + "x" + nx);
        }
        this.nx = nx;
        this.ny = ny;
        this.nz = nz;
        this.geometry = geometry;
        this.source = source;
        this.header = header;
        this.arena = Arena.ofShared();
        try {
            this.data = arena.allocate((long) nx * ny * nz * Float.BYTES, 64);
        } catch (OutOfMemoryError | IllegalArgumentException e) {
            arena.close();
            throw new VolumeInputException(source + ": cannot allocate " + nz + "x" + ny + "x" + nx
                + " float32 voxels off-heap (" + e.getMessage() + ")", e);
        }
    }

    /**
     * A zero-filled volume.
     *
     * @param nz       slices (D)
     * @param ny       rows (H)
     * @param nx       columns (W)
     * @param geometry voxel (x, y, z) → world
     * @param source   a name for messages (a file path or a description)
     * @return the volume; close it when done
     */
    public static Volume allocate(int nz, int ny, int nx, Geometry geometry, String source) {
        return new Volume(nz, ny, nx, geometry, source, null);
    }

    static Volume allocate(NiftiHeader header, Geometry geometry, String source) {
        return new Volume(header.nz(), header.ny(), header.nx(), geometry, source, header);
    }

    /** @return number of slices along z (D) */
    public int nz() {
        return nz;
    }

    /** @return number of rows along y (H) */
    public int ny() {
        return ny;
    }

    /** @return number of columns along x (W) */
    public int nx() {
        return nx;
    }

    /** @return {nz, ny, nx}, i.e. (D, H, W) */
    public int[] shape() {
        return new int[] {nz, ny, nx};
    }

    /** @return nz·ny·nx */
    public long voxelCount() {
        return (long) nx * ny * nz;
    }

    /** @return the grid geometry */
    public Geometry geometry() {
        return geometry;
    }

    /** @return the file this volume was read from, or the description it was made with */
    public String source() {
        return source;
    }

    /** @return the NIfTI header it was read from (datatype, scaling, codes); empty for volumes made in memory */
    public Optional<NiftiHeader> header() {
        return Optional.ofNullable(header);
    }

    /** @return the (nz, ny, nx) float32 voxels, x fastest, native byte order */
    public MemorySegment data() {
        return data;
    }

    /** @return float index of voxel [z][y][x] */
    public long index(int z, int y, int x) {
        return ((long) z * ny + y) * nx + x;
    }

    /** @return voxel [z][y][x] */
    public float get(int z, int y, int x) {
        return data.getAtIndex(F32, index(z, y, x));
    }

    /** @return voxel at float index {@code i} */
    public float get(long i) {
        return data.getAtIndex(F32, i);
    }

    /** Sets voxel [z][y][x]. */
    public void set(int z, int y, int x, float v) {
        data.setAtIndex(F32, index(z, y, x), v);
    }

    /** Sets the voxel at float index {@code i}. */
    public void set(long i, float v) {
        data.setAtIndex(F32, i, v);
    }

    /**
     * Whether {@code other} has the same dimensions and lies on the same grid: the world positions of the 8
     * corner voxel centres agree within a hundredth of the smallest voxel size (headers written by different
     * tools round the affine differently, typically at 1e-5 mm).
     *
     * @param other another volume
     * @return true when the grids coincide
     */
    public boolean sameGrid(Volume other) {
        if (nx != other.nx || ny != other.ny || nz != other.nz) {
            return false;
        }
        double[] s = geometry.spacing();
        double tol = 0.01 * Math.min(s[0], Math.min(s[1], s[2]));
        for (int c = 0; c < 8; c++) {
            double i = (c & 1) == 0 ? 0 : nx - 1;
            double j = (c & 2) == 0 ? 0 : ny - 1;
            double k = (c & 4) == 0 ? 0 : nz - 1;
            double[] a = geometry.toWorld(i, j, k);
            double[] b = other.geometry.toWorld(i, j, k);
            for (int d = 0; d < 3; d++) {
                if (!(Math.abs(a[d] - b[d]) <= tol)) {
                    return false;
                }
            }
        }
        return true;
    }

    /** Frees the off-heap voxels. */
    @Override
    public void close() {
        arena.close();
    }

    @Override
    public String toString() {
        return "Volume[" + source + ", " + nz + "x" + ny + "x" + nx + " (z,y,x), " + geometry + "]";
    }
}
