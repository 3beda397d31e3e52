package org.renalmtl.weights.hdf5;

import static org.bytedeco.hdf5.global.hdf5.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;
import org.bytedeco.hdf5.H5G_info_t;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;

/**
 * A flat HDF5 file: float datasets and string attributes in one group, read and written through
 * the HDF5 C library (bytedeco presets). This is all the weight format and the test fixtures need;
 * nested paths such as {@code features/mtdl} are accepted as dataset names.
 *
 * <p>Every call holds one process-wide lock because the HDF5 build is not thread-safe. Errors are
 * never printed by HDF5 itself; they surface as {@link Hdf5Exception} naming the file.
 */
public final class Hdf5File implements AutoCloseable {
    /** HDF5 is built without its thread-safety option: serialise every library call. */
    private static final ReentrantLock LOCK = new ReentrantLock();

    static {
        LOCK.lock();
        try {
            H5open();
            // HDF5 prints its error stack to stderr by default; we report errors ourselves.
            H5Eset_auto2(H5E_DEFAULT(), null, null);
        } finally {
            LOCK.unlock();
        }
    }

    /** Shape and element type of one dataset. */
    public record DatasetInfo(String name, long[] shape, int bytesPerElement, boolean isFloat) {
        /** @return the number of elements */
        public long elements() {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            return n;
        }
    }

    private final Path path;
    private final long fileId;
    private boolean closed;

    private Hdf5File(Path path, long fileId) {
        this.path = path;
        this.fileId = fileId;
    }

    /**
     * Opens an existing file read-only.
     *
     * @throws Hdf5Exception if the file is missing, not HDF5, or damaged
     */
    public static Hdf5File open(Path path) {
        if (!Files.isRegularFile(path)) {
            throw new Hdf5Exception(path, Files.exists(path) ? "not a regular file" : "no such file");
        }
        if (!Files.isReadable(path)) {
            throw new Hdf5Exception(path, "not readable");
        }
        LOCK.lock();
        try {
            long id = H5Fopen(path.toString(), H5F_ACC_RDONLY(), H5P_DEFAULT());
            if (id < 0) {
                throw new Hdf5Exception(path, describeOpenFailure(path));
            }
            return new Hdf5File(path, id);
        } finally {
            LOCK.unlock();
        }
    }

    /** Creates (or truncates) a file for writing. */
    public static Hdf5File create(Path path) {
        LOCK.lock();
        try {
            long id = H5Fcreate(path.toString(), H5F_ACC_TRUNC(), H5P_DEFAULT(), H5P_DEFAULT());
            if (id < 0) {
                throw new Hdf5Exception(path, "cannot create HDF5 file");
            }
            return new Hdf5File(path, id);
        } finally {
            LOCK.unlock();
        }
    }

    private static String describeOpenFailure(Path path) {
        try (var in = Files.newInputStream(path)) {
            byte[] head = in.readNBytes(8);
            byte[] magic = {(byte) 0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
            if (!java.util.Arrays.equals(head, magic)) {
                return "not an HDF5 file (no HDF5 signature at offset 0)";
            }
        } catch (java.io.IOException e) {
            return "cannot read: " + e.getMessage();
        }
        return "damaged or truncated HDF5 file (the HDF5 library cannot open it)";
    }

    /** @return the file this object reads or writes */
    public Path path() {
        return path;
    }

    /** @return names of all datasets, recursively ({@code group/name} for nested ones), sorted */
    public List<String> datasetNames() {
        LOCK.lock();
        try {
            checkOpen();
            List<String> out = new ArrayList<>();
            collect(fileId, "", out);
            out.sort(null);
            return out;
        } finally {
            LOCK.unlock();
        }
    }

    private void collect(long groupId, String prefix, List<String> out) {
        H5G_info_t info = new H5G_info_t();
        if (H5Gget_info(groupId, info) < 0) {
            throw new Hdf5Exception(path, "cannot list group '" + prefix + "'");
        }
        long n = info.nlinks();
        for (long i = 0; i < n; i++) {
            long len = H5Lget_name_by_idx(groupId, ".", H5_INDEX_NAME, H5_ITER_INC, i, (byte[]) null, 0, H5P_DEFAULT());
            if (len < 0) {
                throw new Hdf5Exception(path, "cannot read link " + i + " of group '" + prefix + "'");
            }
            byte[] buf = new byte[(int) len + 1];
            H5Lget_name_by_idx(groupId, ".", H5_INDEX_NAME, H5_ITER_INC, i, buf, buf.length, H5P_DEFAULT());
            String name = new String(buf, 0, (int) len, StandardCharsets.UTF_8);
            long obj = H5Oopen(groupId, name, H5P_DEFAULT());
            if (obj < 0) {
                throw new Hdf5Exception(path, "cannot open object '" + prefix + name + "'");
            }
            try {
                int type = H5Iget_type(obj);
                if (type == H5I_GROUP) {
                    collect(obj, prefix + name + "/", out);
                } else if (type == H5I_DATASET) {
                    out.add(prefix + name);
                }
            } finally {
                H5Oclose(obj);
            }
        }
    }

    /** @return shape and type of a dataset */
    public DatasetInfo info(String name) {
        LOCK.lock();
        try {
            checkOpen();
            long ds = openDataset(name);
            try {
                return infoOf(ds, name);
            } finally {
                H5Dclose(ds);
            }
        } finally {
            LOCK.unlock();
        }
    }

    private DatasetInfo infoOf(long ds, String name) {
        long space = H5Dget_space(ds);
        long type = H5Dget_type(ds);
        try {
            int rank = H5Sget_simple_extent_ndims(space);
            if (rank < 0) {
                throw new Hdf5Exception(path, "dataset '" + name + "' has an unreadable shape");
            }
            long[] dims = new long[rank];
            if (rank > 0) {
                H5Sget_simple_extent_dims(space, dims, (long[]) null);
            }
            return new DatasetInfo(name, dims, (int) H5Tget_size(type), H5Tget_class(type) == H5T_FLOAT);
        } finally {
            H5Tclose(type);
            H5Sclose(space);
        }
    }

    private long openDataset(String name) {
        long ds = H5Dopen2(fileId, name, H5P_DEFAULT());
        if (ds < 0) {
            throw new Hdf5Exception(path, "no dataset '" + name + "'");
        }
        return ds;
    }

    /**
     * Reads a float dataset (any float width; HDF5 converts) into {@code dst} as native float32.
     *
     * @param dst off-heap destination of at least {@code elements * 4} bytes
     */
    public void readFloats(String name, MemorySegment dst) {
        LOCK.lock();
        try {
            checkOpen();
            long ds = openDataset(name);
            try {
                DatasetInfo info = infoOf(ds, name);
                if (!info.isFloat()) {
                    throw new Hdf5Exception(path, "dataset '" + name + "' is not floating point");
                }
                if (dst.byteSize() < info.elements() * Float.BYTES) {
                    throw new IllegalArgumentException("destination too small for " + name);
                }
                if (H5Dread(ds, H5T_NATIVE_FLOAT_g(), H5S_ALL(), H5S_ALL(), H5P_DEFAULT(), pointerTo(dst)) < 0) {
                    throw new Hdf5Exception(path, "cannot read dataset '" + name + "' (truncated or damaged file)");
                }
            } finally {
                H5Dclose(ds);
            }
        } finally {
            LOCK.unlock();
        }
    }

    /** Reads a float dataset into a new heap array (for small tensors and tests). */
    public float[] readFloats(String name) {
        DatasetInfo info = info(name);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(Math.max(4, info.elements() * Float.BYTES), 64);
            readFloats(name, seg);
            return seg.asSlice(0, info.elements() * Float.BYTES).toArray(ValueLayout.JAVA_FLOAT);
        }
    }

    /** @return whether the root group has an attribute of this name */
    public boolean hasAttribute(String name) {
        LOCK.lock();
        try {
            checkOpen();
            return H5Aexists(fileId, name) > 0;
        } finally {
            LOCK.unlock();
        }
    }

    /** Reads a string attribute of the root group (variable- or fixed-length). */
    public String readStringAttribute(String name) {
        LOCK.lock();
        try {
            checkOpen();
            long attr = H5Aopen(fileId, name, H5P_DEFAULT());
            if (attr < 0) {
                throw new Hdf5Exception(path, "no attribute '" + name + "'");
            }
            long type = H5Aget_type(attr);
            try {
                if (H5Tget_class(type) != H5T_STRING) {
                    throw new Hdf5Exception(path, "attribute '" + name + "' is not a string");
                }
                if (H5Tis_variable_str(type) > 0) {
                    long mem = H5Tcopy(H5T_C_S1_g());
                    H5Tset_size(mem, H5T_VARIABLE);
                    H5Tset_cset(mem, H5T_CSET_UTF8);
                    try (PointerPointer<BytePointer> holder = new PointerPointer<>(1)) {
                        if (H5Aread(attr, mem, holder) < 0) {
                            throw new Hdf5Exception(path, "cannot read attribute '" + name + "'");
                        }
                        BytePointer str = holder.get(BytePointer.class, 0);
                        String s = str.getString(StandardCharsets.UTF_8);
                        long space = H5Aget_space(attr);
                        H5Treclaim(mem, space, H5P_DEFAULT(), holder);
                        H5Sclose(space);
                        return s;
                    } finally {
                        H5Tclose(mem);
                    }
                }
                long size = H5Tget_size(type);
                try (BytePointer buf = new BytePointer(size + 1)) {
                    buf.fill(0);
                    if (H5Aread(attr, type, buf) < 0) {
                        throw new Hdf5Exception(path, "cannot read attribute '" + name + "'");
                    }
                    // getString() returns the whole buffer (size + 1 bytes): cut at the first NUL, which
                    // ends the text of a NULLTERM or NULLPAD string.
                    String s = buf.getString(StandardCharsets.UTF_8);
                    int nul = s.indexOf('\0');
                    return nul >= 0 ? s.substring(0, nul) : s;
                }
            } finally {
                H5Tclose(type);
                H5Aclose(attr);
            }
        } finally {
            LOCK.unlock();
        }
    }

    /** Writes a variable-length UTF-8 string attribute on the root group. */
    public void writeStringAttribute(String name, String value) {
        LOCK.lock();
        try {
            checkOpen();
            long type = H5Tcopy(H5T_C_S1_g());
            H5Tset_size(type, H5T_VARIABLE);
            H5Tset_cset(type, H5T_CSET_UTF8);
            long space = H5Screate(H5S_SCALAR);
            long attr = H5Acreate2(fileId, name, type, space, H5P_DEFAULT(), H5P_DEFAULT());
            // The holder is an array of one char*; new PointerPointer<>(str) would instead be JavaCPP's
            // cast constructor (the string's bytes read as pointers) and crash the JVM inside H5Awrite.
            try (BytePointer str = new BytePointer(value, StandardCharsets.UTF_8);
                    PointerPointer<BytePointer> holder = new PointerPointer<BytePointer>(1).put(0, str)) {
                if (attr < 0 || H5Awrite(attr, type, holder) < 0) {
                    throw new Hdf5Exception(path, "cannot write attribute '" + name + "'");
                }
            } finally {
                if (attr >= 0) {
                    H5Aclose(attr);
                }
                H5Sclose(space);
                H5Tclose(type);
            }
        } finally {
            LOCK.unlock();
        }
    }

    /** Writes a contiguous float32 dataset in the root group from {@code src} (C order). */
    public void writeFloats(String name, long[] shape, MemorySegment src) {
        LOCK.lock();
        try {
            checkOpen();
            long space = H5Screate_simple(shape.length, shape, (long[]) null);
            long ds = H5Dcreate2(fileId, name, H5T_IEEE_F32LE_g(), space, H5P_DEFAULT(), H5P_DEFAULT(), H5P_DEFAULT());
            try {
                if (ds < 0 || H5Dwrite(ds, H5T_NATIVE_FLOAT_g(), H5S_ALL(), H5S_ALL(), H5P_DEFAULT(), pointerTo(src)) < 0) {
                    throw new Hdf5Exception(path, "cannot write dataset '" + name + "'");
                }
            } finally {
                if (ds >= 0) {
                    H5Dclose(ds);
                }
                H5Sclose(space);
            }
        } finally {
            LOCK.unlock();
        }
    }

    /** A JavaCPP view of an off-heap segment, so HDF5 reads and writes it without a heap copy. */
    private static Pointer pointerTo(MemorySegment seg) {
        return new Pointer() {
            {
                address = seg.address();
                limit = capacity = seg.byteSize();
            }
        };
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("HDF5 file closed: " + path);
        }
    }

    @Override
    public void close() {
        LOCK.lock();
        try {
            if (!closed) {
                closed = true;
                H5Fclose(fileId);
            }
        } finally {
            LOCK.unlock();
        }
    }
}
