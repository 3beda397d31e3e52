package org.renalmtl.kernels;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/**
 * The compiled CUDA kernels of renal-mtl ({@code kernels/src/main/cuda/*.cu}, contract in
 * {@code kernels/KERNELS.md}), packaged as one fatbin on the classpath.
 *
 * <p>The engine hands {@link #fatbin()} to {@code cuModuleLoadData} (or {@code cuLibraryLoadData}),
 * looks up each of {@link #KERNEL_NAMES} with {@code cuModuleGetFunction} and launches with
 * {@link #BLOCK_THREADS} threads per block and a grid from {@link #gridSize(long, int)}. The fatbin
 * holds machine code for sm_90 (Hopper) and sm_80 (Ampere) and compute_90 PTX, which newer GPUs
 * compile at load time.
 *
 * <p>This module has no CUDA dependency: it only carries bytes. The fatbin is a committed build
 * artifact ({@code kernels/build-fatbin.sh}), so Maven never needs {@code nvcc};
 * {@link #sourceHash()} records which sources it was built from, and a test fails when the sources
 * change without a rebuild.
 *
 * @param fatbin     the fatbin image (kept private; {@link #fatbin()} hands out copies)
 * @param sourceHash lower-case hex SHA-256 of the kernel sources the image was built from
 */
public record KernelImage(byte[] fatbin, String sourceHash) {

    /** Classpath resource of the fatbin, relative to this class's package. */
    public static final String FATBIN_RESOURCE = "renal_mtl.fatbin";

    /** Classpath resource holding {@link #sourceHash()}, relative to this class's package. */
    public static final String HASH_RESOURCE = "renal_mtl.fatbin.sha256";

    /**
     * Entry points of the fatbin ({@code extern "C"}, so unmangled), in the order of KERNELS.md:
     * copy, pooling, shortcut, elementwise, norm, head. Each has a CPU twin of the same name in
     * camelCase.
     */
    public static final List<String> KERNEL_NAMES = List.of(
            "copy_nd",
            "maxpool3d_ndhwc",
            "global_avg_pool_ndhwc",
            "shortcut_a_ndhwc",
            "affine_act",
            "add_act",
            "instance_norm_ndhwc",
            "gate_mix");

    /**
     * Threads per block for every kernel (blockDim = (256, 1, 1), no dynamic shared memory). The
     * kernels are declared with {@code __launch_bounds__(256)}: a larger block is refused at launch.
     */
    public static final int BLOCK_THREADS = 256;

    /** Magic number of a CUDA fatbin, little-endian, at offset 0. */
    public static final int FATBIN_MAGIC = 0xBA55ED50;

    /** Fatbin entry kind: PTX text. */
    public static final int KIND_PTX = 1;

    /** Fatbin entry kind: ELF (SASS machine code). */
    public static final int KIND_ELF = 2;

    /** Bytes of the fatbin file header (magic, version, header size, payload size). */
    private static final int HEADER_BYTES = 16;

    /**
     * Checks the image: the fatbin must parse (see {@link #entries()}) and the hash must be 64 hex digits.
     *
     * @throws KernelImageException if either is malformed
     */
    public KernelImage {
        fatbin = fatbin.clone();
        if (!sourceHash.matches("[0-9a-f]{64}")) {
            throw new KernelImageException(HASH_RESOURCE + ": not a lower-case hex SHA-256: '" + sourceHash + "'");
        }
        parseEntries(fatbin);
    }

    /**
     * Loads the image packaged with this module.
     *
     * @return the fatbin and the hash of its sources
     * @throws KernelImageException if a resource is missing or the fatbin is malformed
     */
    public static KernelImage load() {
        byte[] image = resource(FATBIN_RESOURCE);
        String hash = new String(resource(HASH_RESOURCE), StandardCharsets.US_ASCII).strip();
        return new KernelImage(image, hash);
    }

    /**
     * A copy of the fatbin bytes, ready for {@code cuModuleLoadData} (which wants them in native
     * memory: copy into a {@code BytePointer} or a native segment).
     *
     * @return a fresh copy of the image
     */
    @Override
    public byte[] fatbin() {
        return fatbin.clone();
    }

    /**
     * The kernel entry points, as {@link #KERNEL_NAMES}.
     *
     * @return the names to look up with {@code cuModuleGetFunction}
     */
    public List<String> kernelNames() {
        return KERNEL_NAMES;
    }

    /**
     * The entries of the fatbin, in file order.
     *
     * @return one entry per embedded PTX or ELF image
     */
    public List<Entry> entries() {
        return parseEntries(fatbin);
    }

    /**
     * One image inside the fatbin.
     *
     * @param kind   {@link #KIND_PTX} or {@link #KIND_ELF} (other kinds are reported as read)
     * @param arch   compute capability times ten, e.g. 90 for sm_90 / compute_90
     * @param offset byte offset of the payload in the fatbin
     * @param size   payload bytes
     */
    public record Entry(int kind, int arch, int offset, int size) {
    }

    /**
     * Grid size for a launch: enough blocks of {@link #BLOCK_THREADS} for {@code workItems} (one
     * item per thread), at least one, at most 32 per multiprocessor; every kernel's grid-stride loop
     * covers what a capped grid leaves over. The work item of each kernel (an element, a float4 of
     * channels, a 32 x 32 tile) is given in its source file's header comment and in kernels/README.md.
     *
     * @param workItems       threads the kernel could use, e.g. n * od * oh * ow * c for maxpool3d_ndhwc
     * @param multiprocessors the device's multiprocessor count (132 on an H100 SXM)
     * @return gridDim.x
     */
    public static int gridSize(long workItems, int multiprocessors) {
        if (workItems < 0 || multiprocessors < 1) {
            throw new IllegalArgumentException("gridSize(" + workItems + ", " + multiprocessors + ")");
        }
        long blocks = (workItems + BLOCK_THREADS - 1) / BLOCK_THREADS;
        return (int) Math.max(1, Math.min(blocks, 32L * multiprocessors));
    }

    /**
     * SHA-256 of the kernel sources, as {@code kernels/build-fatbin.sh} computes it: the bytes of
     * every {@code *.cu} and {@code *.cuh} file directly in {@code cudaDir}, concatenated in
     * ascending order of file name, as lower-case hex.
     *
     * @param cudaDir the source directory, {@code kernels/src/main/cuda}
     * @return the hash
     * @throws UncheckedIOException if the directory cannot be read
     */
    public static String hashSources(Path cudaDir) {
        try (Stream<Path> files = Files.list(cudaDir)) {
            List<Path> sources = files
                    .filter(p -> Files.isRegularFile(p))
                    .filter(p -> p.getFileName().toString().endsWith(".cu") || p.getFileName().toString().endsWith(".cuh"))
                    .sorted((a, b) -> Arrays.compareUnsigned(nameBytes(a), nameBytes(b)))
                    .toList();
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            for (Path p : sources) {
                sha.update(Files.readAllBytes(p));
            }
            return HexFormat.of().formatHex(sha.digest());
        } catch (IOException e) {
            throw new UncheckedIOException(cudaDir + ": cannot read kernel sources", e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every Java platform", e);
        }
    }

    private static byte[] nameBytes(Path p) {
        return p.getFileName().toString().getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] resource(String name) {
        try (InputStream in = KernelImage.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new KernelImageException("org/renalmtl/kernels/" + name + ": missing from the classpath (run kernels/build-fatbin.sh)");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new KernelImageException("org/renalmtl/kernels/" + name + ": cannot read: " + e.getMessage(), e);
        }
    }

    /**
     * Parses the fatbin container: a 16-byte header (magic 0xBA55ED50, version, header size, size
     * of what follows) and entries that exactly fill it, each a header (kind u16, version u16,
     * header size u32, payload size u64, ..., arch u32 at offset 28) and its payload. This layout is
     * not documented by NVIDIA; it is what nvcc 12/13 write and what cuobjdump reads.
     */
    private static List<Entry> parseEntries(byte[] image) {
        ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
        if (image.length < HEADER_BYTES || b.getInt(0) != FATBIN_MAGIC) {
            throw new KernelImageException(FATBIN_RESOURCE + ": not a CUDA fatbin (magic "
                    + (image.length < 4 ? "missing" : String.format("0x%08X", b.getInt(0))) + ", expected 0xBA55ED50)");
        }
        int headerSize = Short.toUnsignedInt(b.getShort(6));
        long fatSize = b.getLong(8);
        if (headerSize < HEADER_BYTES || headerSize + fatSize != image.length) {
            throw new KernelImageException(FATBIN_RESOURCE + ": truncated or padded fatbin (header says "
                    + (headerSize + fatSize) + " bytes, file has " + image.length + ")");
        }
        List<Entry> entries = new ArrayList<>();
        long off = headerSize;
        while (off < image.length) {
            if (off + 32 > image.length) {
                throw new KernelImageException(FATBIN_RESOURCE + ": entry header at byte " + off + " runs past the end");
            }
            int at = (int) off;
            int kind = Short.toUnsignedInt(b.getShort(at));
            long entryHeader = Integer.toUnsignedLong(b.getInt(at + 4));
            long payload = b.getLong(at + 8);
            int arch = b.getInt(at + 28);
            long end = off + entryHeader + payload;
            if (entryHeader < 32 || payload < 0 || end > image.length) {
                throw new KernelImageException(FATBIN_RESOURCE + ": entry at byte " + off + " runs past the end");
            }
            entries.add(new Entry(kind, arch, (int) (off + entryHeader), (int) payload));
            off = end;
        }
        if (entries.isEmpty()) {
            throw new KernelImageException(FATBIN_RESOURCE + ": fatbin holds no code");
        }
        return List.copyOf(entries);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof KernelImage k && Arrays.equals(fatbin, k.fatbin) && sourceHash.equals(k.sourceHash);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(fatbin) + sourceHash.hashCode();
    }

    @Override
    public String toString() {
        return "KernelImage[" + fatbin.length + " bytes, sources " + sourceHash + "]";
    }
}
