package org.renalmtl.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The committed fatbin is current, well formed, and carries exactly the kernels of KERNELS.md.
 * Surefire runs with the module directory ({@code ${basedir}}) as working directory.
 */
class KernelImageTest {

    private static final Path CUDA_DIR = Path.of("src/main/cuda");

    @Test
    void committedHashMatchesSources() {
        KernelImage image = KernelImage.load();
        assertEquals(KernelImage.hashSources(CUDA_DIR), image.sourceHash(),
                "a kernel source changed without regenerating the fatbin: run kernels/build-fatbin.sh and commit its output");
    }

    @Test
    void fatbinStartsWithMagicLittleEndian() {
        byte[] fatbin = KernelImage.load().fatbin();
        assertEquals(0xBA55ED50, ByteBuffer.wrap(fatbin).order(ByteOrder.LITTLE_ENDIAN).getInt(0));
        assertArrayEquals(new byte[] {0x50, (byte) 0xED, 0x55, (byte) 0xBA}, Arrays.copyOf(fatbin, 4));
    }

    @Test
    void fatbinHoldsHopperAndAmpereCodeAndHopperPtx() {
        List<KernelImage.Entry> entries = KernelImage.load().entries();
        Set<String> found = new LinkedHashSet<>();
        for (KernelImage.Entry e : entries) {
            found.add((e.kind() == KernelImage.KIND_ELF ? "sm_" : e.kind() == KernelImage.KIND_PTX ? "compute_" : "kind" + e.kind() + "_") + e.arch());
        }
        assertEquals(Set.of("sm_90", "sm_80", "compute_90"), found, "entries " + entries);
    }

    @Test
    void everyImageDefinesEveryKernelUncompressed() {
        KernelImage image = KernelImage.load();
        byte[] fatbin = image.fatbin();
        for (KernelImage.Entry e : image.entries()) {
            byte[] payload = Arrays.copyOfRange(fatbin, e.offset(), e.offset() + e.size());
            if (e.kind() == KernelImage.KIND_ELF) {
                // An uncompressed ELF begins with \x7fELF; its string table holds each symbol NUL-terminated.
                assertArrayEquals(new byte[] {0x7f, 'E', 'L', 'F'}, Arrays.copyOf(payload, 4), "sm_" + e.arch() + " image is compressed or corrupt");
                for (String name : KernelImage.KERNEL_NAMES) {
                    assertTrue(contains(payload, ("\0" + name + "\0").getBytes(StandardCharsets.US_ASCII)), "sm_" + e.arch() + " lacks " + name);
                }
            } else {
                // The PTX names every entry point: exactly the listed kernels, none left over.
                Set<String> entryPoints = new LinkedHashSet<>();
                Matcher entry = Pattern.compile("\\.visible \\.entry ([A-Za-z0-9_]+)\\(")
                        .matcher(new String(payload, StandardCharsets.US_ASCII));
                while (entry.find()) {
                    entryPoints.add(entry.group(1));
                }
                assertEquals(Set.copyOf(KernelImage.KERNEL_NAMES), entryPoints, "compute_" + e.arch() + " PTX entry points");
            }
        }
    }

    @Test
    void kernelNamesMatchKernelsMdAndSources() throws IOException {
        // KERNELS.md lists each kernel as `name(args)` at the start of a line.
        List<String> documented = new ArrayList<>();
        Matcher doc = Pattern.compile("(?m)^`([a-z0-9_]+)\\(").matcher(Files.readString(Path.of("KERNELS.md")));
        while (doc.find()) {
            documented.add(doc.group(1));
        }
        assertEquals(KernelImage.KERNEL_NAMES, documented);

        List<String> defined = new ArrayList<>();
        for (String file : List.of("copy.cu", "pooling.cu", "shortcut.cu", "elementwise.cu", "norm.cu", "head.cu")) {
            Matcher def = Pattern.compile("extern \"C\" __global__ void(?: __launch_bounds__\\([^)]*\\))?\\s+([a-z0-9_]+)\\(")
                    .matcher(Files.readString(CUDA_DIR.resolve(file)));
            while (def.find()) {
                defined.add(def.group(1));
            }
        }
        assertEquals(KernelImage.KERNEL_NAMES, defined);
    }

    @Test
    void hashCoversEverySourceInNameOrder(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("b.cu"), "B");
        Files.writeString(dir.resolve("a.cuh"), "A");
        Files.writeString(dir.resolve("notes.txt"), "ignored");
        // sha256("AB"), as `printf AB | sha256sum` prints it.
        assertEquals("38164fbd17603d73f696b8b4d72664d735bb6a7c88577687fd2ae33fd6964153", KernelImage.hashSources(dir));
        Files.writeString(dir.resolve("b.cu"), "C");
        assertTrue(!KernelImage.hashSources(dir).equals("38164fbd17603d73f696b8b4d72664d735bb6a7c88577687fd2ae33fd6964153"));
    }

    @Test
    void rejectsWhatIsNotAFatbin() {
        String hash = "0".repeat(64);
        KernelImageException wrongMagic = assertThrows(KernelImageException.class,
                () -> new KernelImage("\u007fELF and more bytes".getBytes(StandardCharsets.US_ASCII), hash));
        assertTrue(wrongMagic.getMessage().contains("not a CUDA fatbin"), wrongMagic.getMessage());

        byte[] good = KernelImage.load().fatbin();
        KernelImageException truncated = assertThrows(KernelImageException.class,
                () -> new KernelImage(Arrays.copyOf(good, good.length - 1), hash));
        assertTrue(truncated.getMessage().contains("truncated"), truncated.getMessage());

        assertThrows(KernelImageException.class, () -> new KernelImage(good, "not-a-hash"));
    }

    @Test
    void gridSizeCoversWorkWithinTheCap() {
        assertEquals(1, KernelImage.gridSize(0, 132));
        assertEquals(1, KernelImage.gridSize(256, 132));
        assertEquals(2, KernelImage.gridSize(257, 132));
        assertEquals(32 * 132, KernelImage.gridSize(3L * 64 * 48 * 48 * 48, 132));
        assertThrows(IllegalArgumentException.class, () -> KernelImage.gridSize(1, 0));
    }

    private static boolean contains(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }
}
