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
 * <p>Reading is strict because a file is untrusted: the structure is walked through hard links only
 * ({@link #structure()}), a string attribute must be one bounded string, and a dataset is read only
 * after its metadata shows its bytes lie in this file, unfiltered and fully written
 * ({@link DatasetInfo#storageProblem()}), and a variable-length string only after the global heap
 * objects it may name are checked ({@link GlobalHeapCheck}), so no native call writes past a buffer,
 * follows a link out of the file, or reads another file.
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

    /**
     * The datasets of a file, found through hard links only, and every structural problem met.
     *
     * @param datasets dataset paths ({@code group/name} for nested ones), sorted
     * @param problems soft, external and user-defined links, link cycles, aliases, too deep nesting;
     *     empty for a plain file
     */
    public record Structure(List<String> datasets, List<String> problems) {}

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

    /** @return every dataset and structural problem, from a walk that follows hard links only */
    public Structure structure() {
        LOCK.lock();
        try {
            checkOpen();
            return StructureWalker.walk(fileId);
        } finally {
            LOCK.unlock();
        }
    }

    /**
     * @return names of all datasets, recursively ({@code group/name} for nested ones), sorted
     * @throws Hdf5Exception if the file has soft or external links, link cycles or aliases
     */
    public List<String> datasetNames() {
        Structure s = structure();
        if (!s.problems().isEmpty()) {
            throw new Hdf5Exception(path, String.join("; ", s.problems()));
        }
        return s.datasets();
    }

    /** @return the size of the file in bytes, as HDF5 sees it */
    public long fileSize() {
        LOCK.lock();
        try {
            checkOpen();
            long[] size = new long[1];
            if (H5Fget_filesize(fileId, size) < 0) {
                throw new Hdf5Exception(path, "cannot get the file size");
            }
            return size[0];
        } finally {
            LOCK.unlock();
        }
    }

    /**
     * @return shape, type and storage of a dataset, from its metadata (nothing is read)
     * @throws Hdf5Exception if there is no such dataset
     */
    public DatasetInfo info(String name) {
        LOCK.lock();
        try {
            checkOpen();
            long ds = openDataset(name);
            try {
                return DatasetInspector.inspect(ds, name, fileSize(), baseAddress());
            } finally {
                H5Dclose(ds);
            }
        } finally {
            LOCK.unlock();
        }
    }

    /**
     * Where HDF5's addresses start in the file: after the user block, if the file has one (the superblock
     * then sits there). Caller holds the lock.
     */
    private long baseAddress() {
        long fcpl = H5Fget_create_plist(fileId);
        if (fcpl < 0) {
            throw new Hdf5Exception(path, "cannot read the file creation properties");
        }
        try {
            long[] userBlock = new long[1];
            if (H5Pget_userblock(fcpl, userBlock) < 0 || userBlock[0] < 0) {
                throw new Hdf5Exception(path, "cannot read the user block size");
            }
            return userBlock[0];
        } finally {
            H5Pclose(fcpl);
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
     * Reads an IEEE float dataset (16, 32 or 64 bits; HDF5 converts) into {@code dst} as native
     * float32, after checking from its metadata that the data is stored in this file, unfiltered and
     * fully written (see {@link DatasetInfo#storageProblem()}).
     *
     * @param dst off-heap destination of at least {@code elements * 4} bytes
     * @throws Hdf5Exception if the dataset is not such a float dataset or cannot be read
     */
    public void readFloats(String name, MemorySegment dst) {
        LOCK.lock();
        try {
            checkOpen();
            long ds = openDataset(name);
            try {
                DatasetInfo info = DatasetInspector.inspect(ds, name, fileSize(), baseAddress());
                if (info.storageProblem() != null) {
                    throw new Hdf5Exception(path, "dataset '" + name + "' " + info.storageProblem());
                }
                if (!info.isFloat() || !info.ieee()) {
                    throw new Hdf5Exception(path, "dataset '" + name + "' is not IEEE floating point");
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
        if (info.elements() > Integer.MAX_VALUE) {
            throw new Hdf5Exception(path, "dataset '" + name + "' is too large for a Java array");
        }
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

    /**
     * Reads a string attribute of the root group: one string (scalar dataspace), variable- or
     * fixed-length. Its dataspace, type and length are checked before anything is read, so HDF5 never
     * writes more than the buffer given to it holds.
     *
     * @param maxBytes the longest string accepted, in bytes
     * @throws Hdf5Exception if the attribute is missing, not one string, or longer than {@code maxBytes}
     */
    public String readStringAttribute(String name, int maxBytes) {
        LOCK.lock();
        try {
            checkOpen();
            long attr = H5Aopen(fileId, name, H5P_DEFAULT());
            if (attr < 0) {
                throw new Hdf5Exception(path, "no attribute '" + name + "'");
            }
            try {
                return StringAttribute.read(attr, "attribute '" + name + "'", maxBytes, path,
                        () -> GlobalHeapCheck.verify(path, fileSize(), baseAddress(), name, H5Aget_storage_size(attr)));
            } finally {
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
