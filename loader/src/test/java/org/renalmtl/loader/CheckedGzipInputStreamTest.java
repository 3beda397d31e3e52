package org.renalmtl.loader;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.ZipException;
import org.junit.jupiter.api.Test;

/** gzip framing: optional header fields, header CRC, members, and a fuzzed corruption of any single byte. */
class CheckedGzipInputStreamTest {

    private static byte[] inflate(byte[] file, int bufferSize) throws IOException {
        try (InputStream in = new CheckedGzipInputStream(new ByteArrayInputStream(file), bufferSize)) {
            return in.readAllBytes();
        }
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    @Test
    void everyOptionalHeaderFieldIsParsedAndTheHeaderCrcChecked() throws IOException {
        byte[] content = "voxels voxels voxels".getBytes();
        int all = GzipBytes.FTEXT | GzipBytes.FHCRC | GzipBytes.FEXTRA | GzipBytes.FNAME | GzipBytes.FCOMMENT;
        for (int flags = 0; flags <= all; flags++) {
            // A 1-byte buffer makes every field and the trailer straddle refills.
            assertArrayEquals(content, inflate(GzipBytes.member(content, flags, 8), 1), "flags " + flags);
            assertArrayEquals(content, inflate(GzipBytes.member(content, flags, 8), 1 << 16), "flags " + flags);
        }
        byte[] badHcrc = GzipBytes.member(content, GzipBytes.FHCRC | GzipBytes.FNAME, 8);
        badHcrc[17] ^= 1; // the CRC16 after the 10-byte header and the 7-byte name
        ZipException e = assertThrows(ZipException.class, () -> inflate(badHcrc, 64));
        assertTrue(e.getMessage().startsWith("header CRC16 mismatch in member 1"), e.getMessage());
    }

    @Test
    void reservedFlagsOtherMethodsAndCutHeadersAreRefused() {
        byte[] content = {1, 2, 3};
        assertEquals("member 1 sets reserved header flags (0x20)",
            assertThrows(ZipException.class, () -> inflate(GzipBytes.member(content, 0x20, 8), 64)).getMessage());
        assertEquals("member 1 uses compression method 7 (only 8, deflate, exists)",
            assertThrows(ZipException.class, () -> inflate(GzipBytes.member(content, 0, 7), 64)).getMessage());
        byte[] named = GzipBytes.member(content, GzipBytes.FNAME, 8);
        assertThrows(EOFException.class, () -> inflate(Arrays.copyOf(named, 14), 64)); // inside the name
    }

    @Test
    void membersJoinAndAnEmptyMemberIsAllowed() throws IOException {
        byte[] a = "first ".getBytes();
        byte[] b = "second".getBytes();
        byte[] file = concat(GzipBytes.member(a, 0, 8), GzipBytes.member(new byte[0], GzipBytes.FNAME, 8), GzipBytes.member(b, GzipBytes.FHCRC, 8));
        assertArrayEquals("first second".getBytes(), inflate(file, 3));
    }

    /**
     * Valid gzip files made of fuzzed members (content, header fields) and zero padding read back exactly; with
     * one byte changed anywhere they read back exactly (a byte nobody checks: MTIME, OS, a name character, the
     * unused bits of deflate's last byte) or fail with ZipException or EOFException, never with anything else,
     * never with other content; a changed byte in a trailer (CRC32, ISIZE) or in the padding always fails.
     */
    @FuzzTest(maxDuration = "5m")
    void anyOneByteCorruptionIsHarmlessOrRefused(FuzzedDataProvider data) throws IOException {
        ByteArrayOutputStream file = new ByteArrayOutputStream();
        ByteArrayOutputStream content = new ByteArrayOutputStream();
        List<Integer> trailers = new ArrayList<>(); // offsets of the members' 8-byte trailers
        int members = data.consumeInt(1, 4);
        for (int m = 0; m < members; m++) {
            byte[] part = data.consumeBytes(data.consumeInt(0, 2000));
            file.writeBytes(GzipBytes.member(part, data.consumeInt(0, 31), 8));
            content.writeBytes(part);
            trailers.add(file.size() - 8);
        }
        int padding = file.size();
        file.writeBytes(new byte[data.consumeInt(0, 3)]);
        byte[] bytes = file.toByteArray();
        int bufferSize = data.consumeInt(1, 300);
        assertArrayEquals(content.toByteArray(), inflate(bytes, bufferSize));
        int at = data.consumeInt(0, bytes.length - 1);
        byte xor = data.consumeByte();
        if (xor == 0) {
            return;
        }
        bytes[at] ^= xor;
        boolean checked = at >= padding || trailers.stream().anyMatch(t -> at >= t && at < t + 8);
        try {
            assertArrayEquals(content.toByteArray(), inflate(bytes, bufferSize), "byte " + at + " ^ " + xor + " went unnoticed");
            assertFalse(checked, "byte " + at + " (trailer or padding) ^ " + xor + " went unnoticed");
        } catch (ZipException | EOFException e) {
            assertTrue(!e.getMessage().isEmpty() && !e.getMessage().contains("\n"), e.getMessage());
        }
    }
}
