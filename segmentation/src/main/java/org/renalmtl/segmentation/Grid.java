package org.renalmtl.segmentation;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * A multi-channel 3-D array off-heap: (C, D, H, W) in C order, W fastest, stored as float32 or as IEEE
 * binary16 (fp16, nnU-Net's accumulator type).
 *
 * <p>Values are read and written as {@code float}; with {@link Storage#FLOAT16} a write rounds to the nearest
 * fp16 (ties to even), exactly as PyTorch stores into a half tensor. Loops over many voxels use the run
 * accessors {@link #read} and {@link #write}, which convert a whole run at once instead of deciding the storage
 * per element. Memory lives in a shared arena (parallel loops read and write it) and is freed by
 * {@link #close()}.
 */
public final class Grid implements AutoCloseable {

    /** How each element is stored. */
    public enum Storage {
        /** IEEE binary32, 4 bytes. */
        FLOAT32(4),
        /** IEEE binary16, 2 bytes: nnU-Net's sliding-window accumulators and the logits it returns. */
        FLOAT16(2);

        private final int bytes;

        Storage(int bytes) {
            this.bytes = bytes;
        }

        /** @return bytes per element */
        public int bytes() {
            return bytes;
        }
    }

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT;
    private static final ValueLayout.OfShort F16 = ValueLayout.JAVA_SHORT;

    private final Arena arena;
    private final MemorySegment data; // (C, D, H, W) elements of `storage`, W fastest, native byte order
    private final int channels;
    private final int[] shape; // (3): D, H, W
    private final long voxels; // D·H·W, elements per channel
    private final Storage storage;

    private Grid(int channels, int[] shape, Storage storage, String what) {
        if (channels < 1 || shape.length != 3 || shape[0] < 1 || shape[1] < 1 || shape[2] < 1) {
            throw new IllegalArgumentException(what + ": bad grid shape " + channels + "x" + Arrays.toString(shape));
        }
        this.channels = channels;
        this.shape = shape.clone();
        this.voxels = (long) shape[0] * shape[1] * shape[2];
        this.storage = storage;
        this.arena = Arena.ofShared();
        try {
            this.data = arena.allocate(voxels * channels * storage.bytes, 64);
        } catch (OutOfMemoryError | IllegalArgumentException e) {
            arena.close();
            throw new IllegalStateException(what + ": cannot allocate " + channels + "x" + Arrays.toString(shape) + " "
                + storage + " off-heap (" + e.getMessage() + ")", e);
        }
    }

    /**
     * A zero-filled grid.
     *
     * @param channels C
     * @param shape    (D, H, W)
     * @param storage  element type
     * @param what     a name for messages
     * @return the grid; close it when done
     */
    public static Grid allocate(int channels, int[] shape, Storage storage, String what) {
        return new Grid(channels, shape, storage, what);
    }

    /** @return C */
    public int channels() {
        return channels;
    }

    /** @return a copy of (D, H, W) */
    public int[] shape() {
        return shape.clone();
    }

    /** @return D·H·W */
    public long voxels() {
        return voxels;
    }

    /** @return the element type */
    public Storage storage() {
        return storage;
    }

    /** @return the raw (C, D, H, W) elements, native byte order */
    public MemorySegment segment() {
        return data;
    }

    /**
     * @param c channel
     * @param i voxel index within the channel, (z·H + y)·W + x
     * @return the element as float
     */
    public float get(int c, long i) {
        long k = c * voxels + i;
        return storage == Storage.FLOAT32 ? data.getAtIndex(F32, k) : Float.float16ToFloat(data.getAtIndex(F16, k));
    }

    /**
     * Stores a value, rounded to fp16 (nearest, ties to even) for {@link Storage#FLOAT16}.
     *
     * @param c channel
     * @param i voxel index within the channel
     * @param v the value
     */
    public void set(int c, long i, float v) {
        long k = c * voxels + i;
        if (storage == Storage.FLOAT32) {
            data.setAtIndex(F32, k, v);
        } else {
            data.setAtIndex(F16, k, Float.floatToFloat16(v));
        }
    }

    /**
     * Reads a run of elements, as {@link #get} would one by one.
     *
     * @param c   channel
     * @param i   first voxel index within the channel
     * @param dst receives the values
     * @param off first position in {@code dst}
     * @param len number of elements
     */
    public void read(int c, long i, float[] dst, int off, int len) {
        long k = c * voxels + i;
        if (storage == Storage.FLOAT32) {
            MemorySegment.copy(data, F32, k * Float.BYTES, dst, off, len);
        } else {
            for (int j = 0; j < len; j++) {
                dst[off + j] = Float.float16ToFloat(data.getAtIndex(F16, k + j));
            }
        }
    }

    /**
     * Stores a run of elements, as {@link #set} would one by one (rounded to fp16 for {@link Storage#FLOAT16}).
     *
     * @param c   channel
     * @param i   first voxel index within the channel
     * @param src the values
     * @param off first position in {@code src}
     * @param len number of elements
     */
    public void write(int c, long i, float[] src, int off, int len) {
        long k = c * voxels + i;
        if (storage == Storage.FLOAT32) {
            MemorySegment.copy(src, off, data, F32, k * Float.BYTES, len);
        } else {
            for (int j = 0; j < len; j++) {
                data.setAtIndex(F16, k + j, Float.floatToFloat16(src[off + j]));
            }
        }
    }

    /**
     * Copies a run of elements within a channel, bits unchanged.
     *
     * @param c    channel
     * @param from first voxel index read
     * @param to   first voxel index written
     * @param len  number of elements
     */
    public void copyWithin(int c, long from, long to, long len) {
        long base = c * voxels;
        MemorySegment.copy(data, (base + from) * storage.bytes, data, (base + to) * storage.bytes, len * storage.bytes);
    }

    /** @return voxel index of (z, y, x) within a channel */
    public long index(int z, int y, int x) {
        return ((long) z * shape[1] + y) * shape[2] + x;
    }

    /** Frees the memory; the grid must not be used afterwards. */
    @Override
    public void close() {
        arena.close();
    }

    @Override
    public String toString() {
        return "Grid[" + channels + "x" + Arrays.toString(shape) + " " + storage + "]";
    }
}
