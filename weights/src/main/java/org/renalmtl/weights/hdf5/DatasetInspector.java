package org.renalmtl.weights.hdf5;

import static org.bytedeco.hdf5.global.hdf5.*;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.SizeTPointer;

/**
 * Finds from a dataset's metadata whether its data can be read safely, before anything is read.
 * Reading is safe when the bytes sit in this file: contiguous or chunked, unfiltered, fully written,
 * every byte range inside the file. Everything else is refused with a reason, because HDF5 would
 * otherwise read another file named by the weight file (an external file list can name a FIFO, which
 * blocks forever, or {@code /dev/urandom}), assemble data from other datasets (virtual), return fill
 * values for data never written, or inflate a small compressed chunk into unbounded memory.
 */
final class DatasetInspector {
    /** Chunks per dataset: h5py's automatic chunking of the largest R50 tensor makes a few dozen. */
    static final int MAX_CHUNKS = 65_536;

    private DatasetInspector() {}

    /**
     * Caller holds the HDF5 lock; {@code ds} is an open dataset of a file of {@code fileSize} bytes whose
     * HDF5 addresses start at byte {@code base} (the user block's size).
     */
    static DatasetInfo inspect(long ds, String name, long fileSize, long base) {
        // The creation properties come first: external and virtual storage is refused from them alone,
        // before any call that could touch the data.
        long dcpl = H5Dget_create_plist(ds);
        if (dcpl < 0) {
            throw new IllegalStateException("no creation property list");
        }
        int layout;
        int filters;
        String problem = null;
        long[] chunk = new long[32]; // H5S_MAX_RANK
        int chunkRank = -1;
        try {
            layout = H5Pget_layout(dcpl);
            filters = H5Pget_nfilters(dcpl);
            if (H5Pget_external_count(dcpl) != 0) {
                problem = "is stored in an external file (a weight file must hold its own data)";
            } else if (layout == H5D_VIRTUAL) {
                problem = "is a virtual dataset (data taken from other datasets or files)";
            } else if (layout != H5D_CONTIGUOUS && layout != H5D_CHUNKED) {
                problem = "has " + (layout == H5D_COMPACT ? "compact" : "unknown") + " storage (contiguous or chunked only)";
            } else if (filters != 0) {
                problem = "is compressed or filtered (" + filters + " filter(s)); store tensors uncompressed";
            } else if (layout == H5D_CHUNKED) {
                chunkRank = H5Pget_chunk(dcpl, chunk.length, chunk);
            }
        } finally {
            H5Pclose(dcpl);
        }
        long space = H5Dget_space(ds);
        long type = H5Dget_type(ds);
        try {
            if (space < 0 || type < 0) {
                throw new IllegalStateException("unreadable dataspace or datatype");
            }
            long[] shape = new long[0];
            int spaceClass = H5Sget_simple_extent_type(space);
            if (spaceClass == H5S_SIMPLE) {
                int rank = H5Sget_simple_extent_ndims(space);
                if (rank < 0 || rank > chunk.length) {
                    throw new IllegalStateException("unreadable rank");
                }
                shape = new long[rank];
                H5Sget_simple_extent_dims(space, shape, (long[]) null);
            } else if (spaceClass != H5S_SCALAR) {
                problem = first(problem, "has no data (null dataspace)");
            }
            long typeSize = H5Tget_size(type);
            int cls = H5Tget_class(type);
            boolean isFloat = cls == H5T_FLOAT;
            long expected = byteCount(shape, typeSize);
            if (expected < 0) {
                problem = first(problem, "has a shape too large to address " + java.util.Arrays.toString(shape));
            }
            List<long[]> ranges = new ArrayList<>();
            if (problem == null) {
                problem = layout == H5D_CONTIGUOUS
                        ? contiguous(ds, expected, fileSize, ranges)
                        : chunked(ds, shape, chunk, chunkRank, typeSize, fileSize, base, ranges);
            }
            return new DatasetInfo(name, shape, (int) Math.min(typeSize, Integer.MAX_VALUE), isFloat,
                    isFloat && ieee(type), problem, List.copyOf(ranges));
        } finally {
            if (type >= 0) {
                H5Tclose(type);
            }
            if (space >= 0) {
                H5Sclose(space);
            }
        }
    }

    private static String first(String current, String next) {
        return current != null ? current : next;
    }

    /** @return the product of the shape and the element size, or -1 if it overflows a long */
    private static long byteCount(long[] shape, long typeSize) {
        try {
            long n = typeSize;
            for (long d : shape) {
                n = Math.multiplyExact(n, d);
            }
            return n;
        } catch (ArithmeticException e) {
            return -1;
        }
    }

    private static String allocation(long ds) {
        int[] status = new int[1];
        if (H5Dget_space_status(ds, status) < 0) {
            return "has unreadable storage status";
        }
        if (status[0] == H5D_SPACE_STATUS_NOT_ALLOCATED) {
            return "was never written (no data stored; it would read as fill values)";
        }
        if (status[0] == H5D_SPACE_STATUS_PART_ALLOCATED) {
            return "was only partly written (some chunks hold no data)";
        }
        return status[0] == H5D_SPACE_STATUS_ALLOCATED ? null : "has unreadable storage status";
    }

    private static String contiguous(long ds, long expected, long fileSize, List<long[]> ranges) {
        String problem = allocation(ds);
        if (problem != null) {
            return problem;
        }
        long stored = H5Dget_storage_size(ds);
        if (stored != expected) {
            return "stores " + stored + " bytes, its shape and type need " + expected;
        }
        long offset = H5Dget_offset(ds);
        if (offset < 0 || offset > fileSize - stored) {
            return "has its data outside the file (truncated or damaged file)";
        }
        ranges.add(new long[] {offset, stored});
        return null;
    }

    private static String chunked(
            long ds, long[] shape, long[] chunk, int chunkRank, long typeSize, long fileSize, long base,
            List<long[]> ranges) {
        if (chunkRank != shape.length) {
            return "has chunks of rank " + chunkRank + " for rank " + shape.length;
        }
        long chunks = 1;
        long chunkBytes = typeSize;
        for (int i = 0; i < shape.length; i++) {
            // A chunk larger than the dataset would make HDF5 allocate (and read) more than the tensor.
            if (chunk[i] < 1 || chunk[i] > shape[i]) {
                return "has chunk dimensions larger than the dataset";
            }
            chunks *= (shape[i] + chunk[i] - 1) / chunk[i];
            chunkBytes *= chunk[i];
            if (chunks > MAX_CHUNKS) {
                return "has more than " + MAX_CHUNKS + " chunks";
            }
        }
        String problem = allocation(ds);
        if (problem != null) {
            return problem;
        }
        long[] count = new long[1];
        if (H5Dget_num_chunks(ds, H5S_ALL(), count) < 0 || count[0] != chunks) {
            return "has " + count[0] + " chunks written, its shape needs " + chunks;
        }
        long[] offset = new long[shape.length];
        int[] mask = new int[1];
        long[] addr = new long[1];
        long[] size = new long[1];
        for (long i = 0; i < chunks; i++) {
            if (H5Dget_chunk_info(ds, H5S_ALL(), i, offset, mask, addr, size) < 0) {
                return "has an unreadable chunk index";
            }
            if (size[0] != chunkBytes) {
                return "has a chunk of " + size[0] + " bytes, expected " + chunkBytes;
            }
            // Chunk addresses are relative to the base address, unlike H5Dget_offset's (which adds it): both
            // become file offsets, or a user block would shift chunks onto contiguous tensors' bytes.
            if (addr[0] < 0 || addr[0] > fileSize - base - size[0]) {
                return "has a chunk outside the file (truncated or damaged file)";
            }
            ranges.add(new long[] {base + addr[0], size[0]});
        }
        return null;
    }

    /** Whether a float type is exactly IEEE 754 binary16, binary32 or binary64, in either byte order. */
    private static boolean ieee(long type) {
        long size = H5Tget_size(type);
        long[] want = switch ((int) size) { // sign pos, exponent pos, exponent bits, mantissa pos, bits, bias
            case 2 -> new long[] {15, 10, 5, 0, 10, 15};
            case 4 -> new long[] {31, 23, 8, 0, 23, 127};
            case 8 -> new long[] {63, 52, 11, 0, 52, 1023};
            default -> null;
        };
        int order = H5Tget_order(type);
        if (want == null || (order != H5T_ORDER_LE && order != H5T_ORDER_BE) || H5Tget_offset(type) != 0
                || H5Tget_precision(type) != size * 8 || H5Tget_norm(type) != H5T_NORM_IMPLIED
                || H5Tget_ebias(type) != want[5]) {
            return false;
        }
        try (SizeTPointer spos = new SizeTPointer(1); SizeTPointer epos = new SizeTPointer(1);
                SizeTPointer esize = new SizeTPointer(1); SizeTPointer mpos = new SizeTPointer(1);
                SizeTPointer msize = new SizeTPointer(1)) {
            return H5Tget_fields(type, spos, epos, esize, mpos, msize) >= 0 && spos.get() == want[0]
                    && epos.get() == want[1] && esize.get() == want[2] && mpos.get() == want[3] && msize.get() == want[4];
        }
    }
}
