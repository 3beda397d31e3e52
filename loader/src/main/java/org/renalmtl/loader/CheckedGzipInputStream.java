package org.renalmtl.loader;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.util.Objects;
import java.util.zip.CRC32;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;
import java.util.zip.ZipException;

/**
 * Inflates a gzip file (RFC 1952) and verifies every member's CRC32 and ISIZE trailer, with rules stated here
 * rather than left to {@link java.util.zip.GZIPInputStream}, which silently ignores bytes after a member that do
 * not parse as another gzip header.
 *
 * <ul>
 *   <li>Several members are read as one stream (RFC 1952 §2.2; bgzip and {@code pigz} write them; Python's
 *       gzip module, hence nibabel, reads them the same way).</li>
 *   <li>Zero bytes after the last member are ignored (tape-style padding; Python's gzip and gzip(1) skip them
 *       too). Any other byte after a member that does not start a gzip header is refused: the file was damaged
 *       or two files were glued together.</li>
 *   <li>Reserved flag bits, a compression method other than deflate, a wrong header CRC16 (FHCRC), a CRC32 or
 *       length mismatch, and a stream ending inside a header, a deflate block or a trailer are refused.</li>
 * </ul>
 * The trailer is checked when the member's deflate stream ends, so a reader must read to end of stream (-1) to
 * have the last member verified. Errors are {@link ZipException} (corrupt) or {@link EOFException} (truncated),
 * each with a one-line message. {@link #close()} frees the inflater's native memory and closes the source.
 */
final class CheckedGzipInputStream extends InputStream {

    private static final int FHCRC = 2;
    private static final int FEXTRA = 4;
    private static final int FNAME = 8;
    private static final int FCOMMENT = 16;
    private static final int RESERVED = 0xe0;

    private final InputStream in;
    private final byte[] buf;
    private int pos; // buf[pos, lim) holds compressed bytes not yet given to the inflater
    private int lim;
    private final Inflater inflater = new Inflater(true); // raw deflate: the gzip framing is parsed here
    private final CRC32 crc = new CRC32();
    private long memberSize; // uncompressed bytes of the current member so far
    private int members;
    private boolean eof;

    /**
     * Reads the first member's header.
     *
     * @param in         the compressed bytes, starting at the gzip magic
     * @param bufferSize how many compressed bytes to read at a time
     * @throws IOException when the first header is malformed or cut off (the inflater is then freed)
     */
    CheckedGzipInputStream(InputStream in, int bufferSize) throws IOException {
        this.in = in;
        this.buf = new byte[bufferSize];
        try {
            readHeader();
        } catch (IOException | RuntimeException e) {
            inflater.end();
            throw e;
        }
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        Objects.checkFromIndexSize(off, len, b.length);
        if (len == 0) {
            return 0;
        }
        while (!eof) {
            int n;
            try {
                n = inflater.inflate(b, off, len);
            } catch (DataFormatException e) {
                throw new ZipException("invalid deflate data in member " + members + ": " + e.getMessage());
            }
            if (n > 0) {
                crc.update(b, off, n);
                memberSize += n;
                return n;
            }
            if (inflater.finished()) {
                pos = lim - inflater.getRemaining(); // bytes after the deflate stream: trailer and beyond
                endMember();
            } else if (inflater.needsDictionary()) {
                throw new ZipException("deflate data in member " + members + " asks for a preset dictionary");
            } else if (inflater.needsInput()) {
                if (!fill()) {
                    throw new EOFException("gzip data ends inside a compressed block (member " + members + ")");
                }
                inflater.setInput(buf, pos, lim - pos);
                pos = lim;
            } else {
                // inflate() returns 0 only when one of the above holds; refuse rather than spin if it ever does not.
                throw new ZipException("deflate data in member " + members + " makes no progress");
            }
        }
        return -1;
    }

    @Override
    public void close() throws IOException {
        inflater.end();
        in.close();
    }

    /** Checks the trailer of the member just inflated, then starts the next member or ends the stream. */
    private void endMember() throws IOException {
        long storedCrc = readLe(4, "trailer");
        long storedSize = readLe(4, "trailer");
        if (storedCrc != crc.getValue()) {
            throw new ZipException(String.format("CRC32 mismatch in member %d: trailer says %08x, data gives %08x",
                members, storedCrc, crc.getValue()));
        }
        if (storedSize != (memberSize & 0xffffffffL)) {
            throw new ZipException("length mismatch in member " + members + ": trailer says " + storedSize
                + " bytes (mod 2^32), data has " + memberSize);
        }
        int next = peek();
        while (next == 0) { // zero padding after the last member
            pos++;
            next = peek();
            if (next > 0) {
                throw new ZipException("non-zero data after the zero padding that follows gzip member " + members);
            }
        }
        if (next < 0) {
            eof = true;
            return;
        }
        if (next != 0x1f) {
            throw new ZipException("trailing data after gzip member " + members + " is not another gzip member");
        }
        inflater.reset();
        crc.reset();
        memberSize = 0;
        readHeader();
    }

    /** Parses one member header (RFC 1952 §2.3), leaving the inflater ready for its deflate data. */
    private void readHeader() throws IOException {
        members++;
        CRC32 headerCrc = new CRC32();
        int id1 = headerByte(headerCrc);
        int id2 = headerByte(headerCrc);
        if (id1 != 0x1f || id2 != 0x8b) {
            throw new ZipException("trailing data after gzip member " + (members - 1) + " is not another gzip member");
        }
        int method = headerByte(headerCrc);
        if (method != 8) {
            throw new ZipException("member " + members + " uses compression method " + method + " (only 8, deflate, exists)");
        }
        int flags = headerByte(headerCrc);
        if ((flags & RESERVED) != 0) {
            throw new ZipException(String.format("member %d sets reserved header flags (0x%02x)", members, flags));
        }
        for (int i = 0; i < 6; i++) { // MTIME, XFL, OS
            headerByte(headerCrc);
        }
        if ((flags & FEXTRA) != 0) {
            int xlen = headerByte(headerCrc) | headerByte(headerCrc) << 8;
            for (int i = 0; i < xlen; i++) {
                headerByte(headerCrc);
            }
        }
        if ((flags & FNAME) != 0) {
            while (headerByte(headerCrc) != 0) {
                // the original file name, unused
            }
        }
        if ((flags & FCOMMENT) != 0) {
            while (headerByte(headerCrc) != 0) {
                // a comment, unused
            }
        }
        if ((flags & FHCRC) != 0) {
            long expected = headerCrc.getValue() & 0xffff;
            long stored = readLe(2, "header");
            if (stored != expected) {
                throw new ZipException(String.format("header CRC16 mismatch in member %d: %04x stored, %04x computed",
                    members, stored, expected));
            }
        }
    }

    private int headerByte(CRC32 headerCrc) throws IOException {
        int b = next("header");
        headerCrc.update(b);
        return b;
    }

    /** @return an unsigned little-endian value of {@code n} bytes (RFC 1952 byte order) */
    private long readLe(int n, String part) throws IOException {
        long v = 0;
        for (int i = 0; i < n; i++) {
            v |= (long) next(part) << (8 * i);
        }
        return v;
    }

    private int next(String part) throws IOException {
        int b = peek();
        if (b < 0) {
            throw new EOFException("gzip data ends inside a member " + part + " (member " + members + ")");
        }
        pos++;
        return b;
    }

    /** @return the next compressed byte without consuming it, or -1 at the end of the file */
    private int peek() throws IOException {
        if (pos == lim && !fill()) {
            return -1;
        }
        return buf[pos] & 0xff;
    }

    /** Refills {@code buf} when it is used up; @return false at the end of the file */
    private boolean fill() throws IOException {
        if (pos < lim) {
            return true;
        }
        int n = in.read(buf, 0, buf.length);
        while (n == 0) {
            n = in.read(buf, 0, buf.length);
        }
        pos = 0;
        lim = Math.max(n, 0);
        return n > 0;
    }
}
