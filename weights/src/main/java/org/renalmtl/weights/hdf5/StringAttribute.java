package org.renalmtl.weights.hdf5;

import static org.bytedeco.hdf5.global.hdf5.*;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.PointerPointer;

/**
 * Reads one string attribute safely. H5Aread writes one element per point of the attribute's
 * dataspace, so reading an array of strings (or a string longer than expected) into a buffer sized
 * for one string corrupts native memory: the dataspace must be scalar and the length is bounded
 * before any buffer is sized from it.
 */
final class StringAttribute {
    private StringAttribute() {}

    /**
     * Caller holds the HDF5 lock; {@code attr} is an open attribute, closed by the caller.
     *
     * @param checkHeaps run before a variable-length string is read, when libhdf5 is about to follow
     *     its reference into the file's global heap (see {@link GlobalHeapCheck})
     */
    static String read(long attr, String what, int maxBytes, Path file, Runnable checkHeaps) {
        long space = H5Aget_space(attr);
        long type = H5Aget_type(attr);
        try {
            if (space < 0 || type < 0) {
                throw new Hdf5Exception(file, what + " is unreadable");
            }
            if (H5Tget_class(type) != H5T_STRING) {
                throw new Hdf5Exception(file, what + " is not a string");
            }
            int spaceClass = H5Sget_simple_extent_type(space);
            if (spaceClass == H5S_NULL) {
                throw new Hdf5Exception(file, what + " has no value (null dataspace)");
            }
            if (spaceClass != H5S_SCALAR) {
                throw new Hdf5Exception(file, what + " is an array of " + H5Sget_simple_extent_npoints(space)
                        + " strings, expected one string (scalar dataspace)");
            }
            boolean variable = H5Tis_variable_str(type) > 0;
            if (variable) {
                checkHeaps.run();
            }
            String s = variable
                    ? variableLength(attr, type, space, what, maxBytes, file)
                    : fixedLength(attr, type, what, maxBytes, file);
            if (s.length() > maxBytes) { // a variable-length string's size is known only once read
                throw new Hdf5Exception(file, what + " is longer than " + maxBytes + " bytes");
            }
            return s;
        } finally {
            if (type >= 0) {
                H5Tclose(type);
            }
            if (space >= 0) {
                H5Sclose(space);
            }
        }
    }

    private static String variableLength(long attr, long type, long space, String what, int maxBytes, Path file) {
        long mem = H5Tcopy(H5T_C_S1_g());
        try {
            H5Tset_size(mem, H5T_VARIABLE);
            H5Tset_cset(mem, H5Tget_cset(type));
            // Scalar dataspace: HDF5 writes exactly one char* into the holder.
            try (PointerPointer<BytePointer> holder = new PointerPointer<>(1)) {
                holder.put(0, (BytePointer) null);
                if (H5Aread(attr, mem, holder) < 0) {
                    throw new Hdf5Exception(file, "cannot read " + what);
                }
                try {
                    BytePointer str = holder.get(BytePointer.class, 0);
                    if (str == null || str.isNull()) {
                        throw new Hdf5Exception(file, what + " is a null string (never written)");
                    }
                    // HDF5 allocated the string with its stored length (so it is bounded by the file) and
                    // NUL-terminated it; measure before decoding so a huge one is not copied to the heap.
                    long len = BytePointer.strlen(str);
                    if (len > maxBytes) {
                        throw new Hdf5Exception(file, what + " is longer than " + maxBytes + " bytes");
                    }
                    byte[] bytes = new byte[(int) len];
                    str.get(bytes);
                    return new String(bytes, StandardCharsets.UTF_8);
                } finally {
                    H5Treclaim(mem, space, H5P_DEFAULT(), holder);
                }
            }
        } finally {
            H5Tclose(mem);
        }
    }

    private static String fixedLength(long attr, long type, String what, int maxBytes, Path file) {
        long size = H5Tget_size(type);
        if (size <= 0 || size > maxBytes) {
            throw new Hdf5Exception(file, what + " is a fixed-length string of " + size + " bytes (at most "
                    + maxBytes + ")");
        }
        // One element of the attribute's own type, plus a NUL the type may lack (NULLPAD, SPACEPAD).
        try (BytePointer buf = new BytePointer(size + 1)) {
            buf.fill(0);
            if (H5Aread(attr, type, buf) < 0) {
                throw new Hdf5Exception(file, "cannot read " + what);
            }
            byte[] bytes = new byte[(int) size];
            buf.get(bytes);
            int end = 0;
            while (end < bytes.length && bytes[end] != 0) { // the text of a NULLTERM/NULLPAD string ends at a NUL
                end++;
            }
            return new String(bytes, 0, end, StandardCharsets.UTF_8);
        }
    }
}
