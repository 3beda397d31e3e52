package org.renalmtl.weights.hdf5;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Checks, from the file's bytes, the global heap object that a variable-length string attribute names,
 * before {@code H5Aread} follows the reference.
 *
 * <p>Why by hand: libhdf5 1.14.3 (the newest the bytedeco presets ship) trusts a global heap collection
 * ("GCOL") once its signature and version match. A damaged object chain (a free-space object of size 0)
 * segfaults inside {@code H5Aread} (a fuzzer found it: src/test/resources/hostile/
 * fuzz-gcol-free-space-size-0.h5); a reference to an object the collection lacks is only asserted
 * against (a no-op in release builds); and an object larger than the length stored in the reference is
 * copied whole into a buffer sized from that length. The public API offers no way to see a reference
 * without following it, so this class reads it where libhdf5 does: in the attribute message.
 *
 * <p>The attribute message is found by its name (followed by a NUL) and accepted only where the bytes
 * before the name are a version 1, 2 or 3 attribute message header with that name length, naming a
 * variable-length datatype; its value, {@code (length u32, collection address, object index u32)}, sits
 * after the name, datatype and dataspace (8-byte padded in version 1). The collection there must be
 * well formed, the way libhdf5's deserialiser walks it (objects tile it exactly, the free space at least
 * an object header, no index twice, inside the file), and hold an object of that index (not 0, the
 * free space) of exactly {@code length} bytes. Cost: one sequential pass over the file for the name,
 * only when a variable-length string attribute is read.
 */
final class GlobalHeapCheck {
    private static final byte[] SIGNATURE = {'G', 'C', 'O', 'L'};
    private static final int VERSION = 1;
    private static final int HEADER_BYTES = 16; // signature, version, 3 reserved, collection size u64
    private static final int OBJECT_HEADER_BYTES = 16; // index u16, refcount u16, reserved u32, size u64
    private static final long MIN_COLLECTION_BYTES = 4096; // H5HG_MINSIZE: libhdf5 only asserts it
    private static final int MAX_COLLECTION_BYTES = 1 << 26; // a config string is at most a few MiB
    private static final int VLEN_CLASS = 9;
    private static final int BLOCK = 1 << 22;

    private GlobalHeapCheck() {}

    /** A variable-length value as stored: where, and what it names. */
    private record Reference(long at, long length, long address, long index) {}

    /**
     * @param name the attribute's name
     * @param storageBytes the attribute's stored size ({@code H5Aget_storage_size}): 4 + offset size + 4
     * @param base the HDF5 base address (the user block size): stored addresses are relative to it
     * @throws Hdf5Exception if the value cannot be found, or names a damaged collection or object
     */
    static void verify(Path file, long fileSize, long base, String name, long storageBytes) {
        int offsetBytes = (int) (storageBytes - 8);
        if (offsetBytes != 2 && offsetBytes != 4 && offsetBytes != 8) {
            throw new Hdf5Exception(file, "attribute '" + name + "' stores " + storageBytes
                    + " bytes, not one variable-length string reference");
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = Math.min(fileSize, ch.size());
            List<Reference> refs = new ArrayList<>();
            for (long at : occurrences(ch, size, (name + "\0").getBytes(StandardCharsets.UTF_8))) {
                Reference r = referenceAfterName(ch, size, at, name.length() + 1, offsetBytes);
                if (r != null) {
                    refs.add(r);
                }
            }
            if (refs.isEmpty()) {
                throw new Hdf5Exception(file, "cannot find the stored value of attribute '" + name
                        + "' to check its global heap reference (damaged or unusual attribute message)");
            }
            for (Reference r : refs) {
                check(file, ch, size, base, r);
            }
        } catch (IOException e) {
            throw new Hdf5Exception(file, "cannot read: " + e.getMessage());
        }
    }

    /** @return the value of the attribute message whose name starts at {@code nameAt}, or null if none */
    private static Reference referenceAfterName(FileChannel ch, long size, long nameAt, int nameBytes,
            int offsetBytes) throws IOException {
        ByteBuffer h = read(ch, nameAt - 9, 9, size);
        if (h == null) {
            return null;
        }
        // Version 1 and 2: version, reserved or flags, name size, datatype size, dataspace size, name.
        // Version 3 adds a character-set byte before the name. Only version 1 pads each part to 8 bytes.
        for (int version = 1; version <= 3; version++) {
            int start = version == 3 ? 0 : 1;
            if (h.get(start) != version || Short.toUnsignedInt(h.getShort(start + 2)) != nameBytes) {
                continue;
            }
            int typeBytes = Short.toUnsignedInt(h.getShort(start + 4));
            int spaceBytes = Short.toUnsignedInt(h.getShort(start + 6));
            boolean sharedType = version > 1 && (h.get(start + 1) & 1) != 0;
            long typeAt = nameAt + pad(version, nameBytes);
            long valueAt = typeAt + pad(version, typeBytes) + pad(version, spaceBytes);
            ByteBuffer type = read(ch, typeAt, 1, size);
            ByteBuffer value = read(ch, valueAt, 8 + offsetBytes, size);
            if (type == null || value == null || (!sharedType && (type.get(0) & 0x0f) != VLEN_CLASS)) {
                continue;
            }
            long address = offsetBytes == 8 ? value.getLong(4)
                    : offsetBytes == 4 ? Integer.toUnsignedLong(value.getInt(4)) : Short.toUnsignedInt(value.getShort(4));
            return new Reference(valueAt, Integer.toUnsignedLong(value.getInt(0)), address,
                    Integer.toUnsignedLong(value.getInt(4 + offsetBytes)));
        }
        return null;
    }

    private static long pad(int version, int bytes) {
        return version == 1 ? (bytes + 7L) & ~7L : bytes;
    }

    private static void check(Path file, FileChannel ch, long size, long base, Reference r) throws IOException {
        if (r.length() == 0 && r.address() == 0) {
            return; // a null string: libhdf5 reads no heap (and the caller refuses the null value)
        }
        String value = "the variable-length value at byte " + r.at();
        long offset = base + r.address();
        if (r.address() < 0 || offset < base) {
            throw new Hdf5Exception(file, value + " names a global heap collection outside the file");
        }
        ByteBuffer head = read(ch, offset, HEADER_BYTES, size);
        if (head == null || !head.slice(0, 4).equals(ByteBuffer.wrap(SIGNATURE)) || head.get(4) != VERSION) {
            throw new Hdf5Exception(file, value + " names byte " + offset + ", which holds no global heap collection");
        }
        long bytes = head.getLong(8);
        if (bytes < MIN_COLLECTION_BYTES || bytes > MAX_COLLECTION_BYTES || bytes > size - offset) {
            throw damaged(file, offset, "size " + Long.toUnsignedString(bytes) + " is below " + MIN_COLLECTION_BYTES
                    + ", above " + MAX_COLLECTION_BYTES + " or past the end of the file");
        }
        ByteBuffer body = read(ch, offset, (int) bytes, size);
        Set<Integer> seen = new HashSet<>();
        long found = -1;
        for (int p = HEADER_BYTES; p < bytes; ) {
            if (bytes - p < OBJECT_HEADER_BYTES) {
                break; // too small for an object header: implicit free space, as libhdf5 reads it
            }
            int index = Short.toUnsignedInt(body.getShort(p));
            long objectBytes = body.getLong(p + 8);
            if (index == 0 && (objectBytes < OBJECT_HEADER_BYTES || objectBytes % 8 != 0)) {
                throw damaged(file, offset, "free-space object of " + Long.toUnsignedString(objectBytes)
                        + " bytes at byte " + (offset + p));
            }
            long need = index == 0 ? objectBytes : OBJECT_HEADER_BYTES + ((objectBytes + 7) & ~7L);
            if (objectBytes < 0 || need < 0 || need > bytes - p) {
                throw damaged(file, offset, "object " + index + " of " + Long.toUnsignedString(objectBytes)
                        + " bytes runs past the collection's end");
            }
            if (!seen.add(index)) {
                throw damaged(file, offset, "object index " + index + " appears twice");
            }
            if (index != 0 && index == r.index()) {
                found = objectBytes;
            }
            p += (int) need;
        }
        if (found < 0) {
            throw new Hdf5Exception(file, value + " names object " + r.index() + ", which the global heap collection at byte "
                    + offset + " does not hold");
        }
        if (found != r.length()) {
            throw new Hdf5Exception(file, value + " claims " + r.length() + " bytes, its global heap object "
                    + r.index() + " at byte " + offset + " holds " + found);
        }
    }

    private static Hdf5Exception damaged(Path file, long offset, String why) {
        return new Hdf5Exception(file, "damaged global heap collection at byte " + offset + " (" + why + ")");
    }

    /** @return {@code length} bytes at {@code offset}, or null if they are not all in the file */
    private static ByteBuffer read(FileChannel ch, long offset, int length, long size) throws IOException {
        if (offset < 0 || length > size - offset) {
            return null;
        }
        ByteBuffer buf = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
        while (buf.hasRemaining()) {
            if (ch.read(buf, offset + buf.position()) < 0) {
                return null;
            }
        }
        return buf.clear();
    }

    /** @return every offset where {@code needle} occurs, from large sequential reads */
    private static List<Long> occurrences(FileChannel ch, long size, byte[] needle) throws IOException {
        List<Long> found = new ArrayList<>();
        byte[] buf = new byte[BLOCK + needle.length];
        for (long start = 0; start < size; start += BLOCK) {
            int want = (int) Math.min(buf.length, size - start);
            ByteBuffer bb = ByteBuffer.wrap(buf, 0, want);
            while (bb.hasRemaining()) {
                if (ch.read(bb, start + bb.position()) < 0) {
                    throw new IOException("the file shrank while being read");
                }
            }
            int last = Math.min(BLOCK, want - needle.length + 1);
            byte first = needle[0];
            for (int i = 0; i < last; i++) {
                if (buf[i] == first && matches(buf, i, needle)) {
                    found.add(start + i);
                }
            }
        }
        return found;
    }

    private static boolean matches(byte[] buf, int at, byte[] needle) {
        for (int k = 1; k < needle.length; k++) {
            if (buf[at + k] != needle[k]) {
                return false;
            }
        }
        return true;
    }
}
