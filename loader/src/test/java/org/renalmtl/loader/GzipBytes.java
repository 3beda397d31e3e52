package org.renalmtl.loader;

import java.io.ByteArrayOutputStream;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

/**
 * Writes gzip members byte by byte after RFC 1952, with any of the optional header fields, independently of
 * {@link java.util.zip.GZIPOutputStream} (which writes none of them), to test {@link CheckedGzipInputStream}.
 */
final class GzipBytes {
    static final int FTEXT = 1;
    static final int FHCRC = 2;
    static final int FEXTRA = 4;
    static final int FNAME = 8;
    static final int FCOMMENT = 16;

    private GzipBytes() {
    }

    /**
     * @param content the member's uncompressed bytes
     * @param flags   FLG (the optional fields written follow its bits)
     * @param method  CM (8 for deflate)
     * @return one member
     */
    static byte[] member(byte[] content, int flags, int method) {
        ByteArrayOutputStream h = new ByteArrayOutputStream();
        h.writeBytes(new byte[] {0x1f, (byte) 0x8b, (byte) method, (byte) flags, 1, 2, 3, 4, 0, 3});
        if ((flags & FEXTRA) != 0) {
            h.writeBytes(new byte[] {6, 0, 'A', 'p', 2, 0, 'x', 'y'});
        }
        if ((flags & FNAME) != 0) {
            h.writeBytes(new byte[] {'c', 't', '.', 'n', 'i', 'i', 0});
        }
        if ((flags & FCOMMENT) != 0) {
            h.writeBytes(new byte[] {'h', 'i', 0});
        }
        if ((flags & FHCRC) != 0) {
            CRC32 c = new CRC32();
            c.update(h.toByteArray());
            h.write((int) c.getValue() & 0xff);
            h.write((int) (c.getValue() >> 8) & 0xff);
        }
        Deflater d = new Deflater(6, true);
        try {
            d.setInput(content);
            d.finish();
            byte[] buf = new byte[4096];
            while (!d.finished()) {
                h.write(buf, 0, d.deflate(buf));
            }
        } finally {
            d.end();
        }
        CRC32 crc = new CRC32();
        crc.update(content);
        writeLe(h, crc.getValue());
        writeLe(h, content.length);
        return h.toByteArray();
    }

    private static void writeLe(ByteArrayOutputStream out, long v) {
        for (int i = 0; i < 4; i++) {
            out.write((int) (v >> (8 * i)) & 0xff);
        }
    }
}
