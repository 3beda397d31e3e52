package org.renalmtl.loader;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.zip.ZipException;

/**
 * Reads single-file NIfTI-1 and NIfTI-2 volumes ({@code .nii}, or gzip-compressed whatever the name says),
 * either byte order, every scalar datatype of {@link NiftiDataType}, applying scl_slope/scl_inter, into an
 * off-heap float32 {@link Volume}.
 *
 * <p>The file is streamed: gzip is decoded through buffered streams and the voxels are converted a chunk at a
 * time (1 MiB of file bytes) into the volume's segment, so the heap holds a few MiB of staging arrays whatever
 * the volume's size. Compression is recognised by the gzip magic bytes, not by the file name.
 * The header is checked before anything is allocated ({@link NiftiHeaderChecks}: dimensions, datatype and bitpix,
 * vox_offset, voxel sizes and affine); a gzip file cannot expand more than about 1032:1, so a header whose voxels
 * could not fit in the compressed size is refused up front too. Gzip is read to its end so that every member's
 * CRC32 and length are verified ({@link CheckedGzipInputStream} states the rules for several members and trailing
 * bytes). Volumes with NaN or infinite voxels are refused: the preprocessing and the network have no meaningful
 * use for them.
 */
public final class NiftiReader {

    /** Largest voxel count accepted by {@link #read(Path)}: 2^31 voxels, i.e. 8 GiB as float32. */
    public static final long DEFAULT_MAX_VOXELS = 1L << 31;

    private static final int CHUNK = 1 << 20;
    private static final int STREAM_BUFFER = 1 << 16;

    private NiftiReader() {
    }

    /**
     * Reads a volume with the default size limit.
     *
     * @param path a .nii or .nii.gz file
     * @return the volume (close it when done)
     * @throws VolumeInputException naming the file when it cannot be read or is not a usable volume
     */
    public static Volume read(Path path) {
        return read(path, DEFAULT_MAX_VOXELS);
    }

    /**
     * Reads a volume.
     *
     * @param path      a .nii or .nii.gz file
     * @param maxVoxels headers claiming more voxels than this are refused before allocation
     * @return the volume (close it when done)
     * @throws VolumeInputException naming the file when it cannot be read or is not a usable volume
     */
    public static Volume read(Path path, long maxVoxels) {
        String src = path.toString();
        long fileSize = checkReadable(path);
        InputStream file;
        try {
            file = Files.newInputStream(path);
        } catch (IOException e) {
            throw failure(src, e);
        }
        return read(file, fileSize, src, maxVoxels); // closes the file whatever happens
    }

    /**
     * Reads a volume from a stream holding a whole file; {@link #read(Path, long)} after the file checks, and the
     * fuzz tests' way in without a temporary file.
     *
     * @param file      the file's bytes from the start (closed here)
     * @param fileSize  the file's size in bytes, which bounds what the header may claim
     * @param src       the file name for messages
     * @param maxVoxels headers claiming more voxels than this are refused before allocation
     * @return the volume (close it when done)
     */
    static Volume read(InputStream file, long fileSize, String src, long maxVoxels) {
        Volume v = null; // freed here on any failure, also one while closing the streams after the last voxel
        try {
            try (InputStream raw = new BufferedInputStream(file, STREAM_BUFFER)) {
                boolean gzip = isGzip(raw);
                try (InputStream in = gzip ? new CheckedGzipInputStream(raw, STREAM_BUFFER) : raw) {
                    NiftiHeader h = readHeader(in, src);
                    NiftiHeaderChecks.dimensions(h, maxVoxels, src);
                    NiftiHeaderChecks.fitsInFile(h, fileSize, gzip, src);
                    Geometry g = h.geometry(src);
                    long skip = h.voxOffset() - (h.version() == 1 ? NiftiHeader.NIFTI1_SIZE : NiftiHeader.NIFTI2_SIZE);
                    in.skipNBytes(skip);
                    v = Volume.allocate(h, g, src);
                    readVoxels(in, h, v, src);
                    if (gzip) {
                        drain(in);
                    }
                }
            }
            return v;
        } catch (IOException e) {
            free(v);
            throw failure(src, e);
        } catch (RuntimeException | Error e) {
            free(v);
            throw e;
        }
    }

    private static void free(Volume v) {
        if (v != null) {
            v.close();
        }
    }

    /** @return the one-line bad-input error for a low-level read failure */
    private static VolumeInputException failure(String src, IOException e) {
        return switch (e) {
            case EOFException eof -> new VolumeInputException(src + ": truncated file ("
                + (eof.getMessage() == null ? "unexpected end of data" : eof.getMessage()) + ")", e);
            case ZipException zip -> new VolumeInputException(src + ": corrupt gzip data (" + zip.getMessage() + ")", e);
            default -> new VolumeInputException(src + ": cannot read (" + oneLine(e) + ")", e);
        };
    }

    /**
     * Reads only the header (and checks the magic), e.g. to report a file's dimensions and datatype.
     *
     * @param path a .nii or .nii.gz file
     * @return the header
     * @throws VolumeInputException naming the file when it is not a readable NIfTI file
     */
    public static NiftiHeader readHeader(Path path) {
        String src = path.toString();
        checkReadable(path);
        try (InputStream raw = new BufferedInputStream(Files.newInputStream(path), STREAM_BUFFER)) {
            boolean gzip = isGzip(raw);
            try (InputStream in = gzip ? new CheckedGzipInputStream(raw, STREAM_BUFFER) : raw) {
                return readHeader(in, src);
            }
        } catch (IOException e) {
            throw failure(src, e);
        }
    }

    private static long checkReadable(Path path) {
        String src = path.toString();
        if (!Files.exists(path)) {
            throw new VolumeInputException(src + ": file not found");
        }
        if (Files.isDirectory(path)) {
            throw new VolumeInputException(src + ": is a directory, not a NIfTI file");
        }
        try {
            long size = Files.size(path);
            if (size == 0) {
                throw new VolumeInputException(src + ": empty file");
            }
            return size;
        } catch (NoSuchFileException e) {
            throw new VolumeInputException(src + ": file not found", e);
        } catch (AccessDeniedException e) {
            throw new VolumeInputException(src + ": permission denied", e);
        } catch (IOException e) {
            throw new VolumeInputException(src + ": cannot read (" + oneLine(e) + ")", e);
        }
    }

    private static boolean isGzip(InputStream in) throws IOException {
        in.mark(2);
        int b0 = in.read();
        int b1 = in.read();
        in.reset();
        return b0 == 0x1f && b1 == 0x8b;
    }

    private static NiftiHeader readHeader(InputStream in, String src) throws IOException {
        byte[] first = new byte[4];
        if (in.readNBytes(first, 0, 4) < 4) {
            throw new VolumeInputException(src + ": truncated file (shorter than a NIfTI header)");
        }
        int[] vo = NiftiHeader.sniff(first, src);
        int size = vo[0] == 1 ? NiftiHeader.NIFTI1_SIZE : NiftiHeader.NIFTI2_SIZE;
        byte[] hdr = new byte[size];
        System.arraycopy(first, 0, hdr, 0, 4);
        if (in.readNBytes(hdr, 4, size - 4) < size - 4) {
            throw new VolumeInputException(src + ": truncated file (header incomplete)");
        }
        return NiftiHeader.parse(hdr, vo[0], vo[1] == 0 ? ByteOrder.LITTLE_ENDIAN : ByteOrder.BIG_ENDIAN, src);
    }

    private static void readVoxels(InputStream in, NiftiHeader h, Volume v, String src) throws IOException {
        NiftiDataType type = h.dataType();
        int bpv = type.bytes();
        long total = v.voxelCount();
        // Raw voxel bytes, a multiple of 8 so no voxel straddles two chunks; no bigger than the volume, so a small
        // file does not cost MiBs of staging arrays.
        byte[] chunk = new byte[(int) Math.min(CHUNK, (total * bpv + 7) & ~7L)];
        Converter conv = new Converter(chunk, type, h.byteOrder(), h.effectiveSlope(), h.effectiveInter());
        MemorySegment dst = v.data();
        long done = 0;
        long bad = 0;
        long firstBad = -1;
        while (done < total) {
            int count = (int) Math.min(chunk.length / bpv, total - done);
            int got = in.readNBytes(chunk, 0, count * bpv);
            if (got < count * bpv) {
                throw new VolumeInputException(src + ": truncated file: expected " + total * bpv
                    + " bytes of voxel data, got " + (done * bpv + got));
            }
            float[] f = conv.convert(count);
            int b = conv.nonFinite(count);
            if (b > 0 && firstBad < 0) {
                firstBad = done + conv.firstNonFinite(count);
            }
            bad += b;
            MemorySegment.copy(f, 0, dst, ValueLayout.JAVA_FLOAT, done * Float.BYTES, count); // offset in bytes
            done += count;
        }
        if (bad > 0) {
            long x = firstBad % v.nx();
            long y = (firstBad / v.nx()) % v.ny();
            long z = firstBad / ((long) v.nx() * v.ny());
            throw new VolumeInputException(src + ": " + bad + " voxels are NaN or infinite (first at z,y,x = "
                + z + "," + y + "," + x + ")");
        }
    }

    /**
     * Reads a gzip stream to its end after the voxels: only then are the last member's CRC32 and length checked
     * (a corrupt or cut-off trailer is refused, not ignored). Inflated bytes after the voxels are allowed, as in
     * an uncompressed file; their count is bounded by the file size times deflate's ratio.
     */
    private static void drain(InputStream in) throws IOException {
        byte[] sink = new byte[STREAM_BUFFER];
        while (in.read(sink, 0, sink.length) >= 0) {
            // discarded
        }
    }

    private static String oneLine(Exception e) {
        String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getClass().getSimpleName() + ": " + e.getMessage();
        return m.replace('\n', ' ');
    }

    /**
     * Raw bytes of one datatype → float32, scaled. Bulk buffer views do the byte swapping (intrinsified copies);
     * the widening loops over primitive arrays vectorise. Staging arrays are allocated once per file.
     */
    private static final class Converter {
        private final ByteBuffer raw;
        private final NiftiDataType type;
        private final double slope;
        private final double inter;
        private final boolean identity;
        private final float[] out; // (CHUNK / bpv) converted values of the current chunk
        private final short[] s16;
        private final int[] s32;
        private final long[] s64;
        private final double[] f64;

        Converter(byte[] chunk, NiftiDataType type, ByteOrder order, double slope, double inter) {
            this.raw = ByteBuffer.wrap(chunk).order(order);
            this.type = type;
            this.slope = slope;
            this.inter = inter;
            this.identity = slope == 1 && inter == 0;
            int n = chunk.length / type.bytes();
            this.out = new float[n];
            this.s16 = type.bytes() == 2 ? new short[n] : null;
            this.s32 = type == NiftiDataType.INT32 || type == NiftiDataType.UINT32 ? new int[n] : null;
            this.s64 = type.bytes() == 8 && type != NiftiDataType.FLOAT64 ? new long[n] : null;
            this.f64 = type == NiftiDataType.FLOAT64 ? new double[n] : null;
        }

        float[] convert(int n) {
            byte[] b = raw.array();
            switch (type) {
                case UINT8 -> {
                    for (int i = 0; i < n; i++) {
                        out[i] = b[i] & 0xff;
                    }
                }
                case INT8 -> {
                    for (int i = 0; i < n; i++) {
                        out[i] = b[i];
                    }
                }
                case INT16 -> {
                    raw.asShortBuffer().get(0, s16, 0, n);
                    for (int i = 0; i < n; i++) {
                        out[i] = s16[i];
                    }
                }
                case UINT16 -> {
                    raw.asShortBuffer().get(0, s16, 0, n);
                    for (int i = 0; i < n; i++) {
                        out[i] = s16[i] & 0xffff;
                    }
                }
                case INT32 -> {
                    raw.asIntBuffer().get(0, s32, 0, n);
                    if (!identity) {
                        for (int i = 0; i < n; i++) {
                            out[i] = (float) (s32[i] * slope + inter);
                        }
                        return out;
                    }
                    for (int i = 0; i < n; i++) {
                        out[i] = s32[i];
                    }
                }
                case UINT32 -> {
                    raw.asIntBuffer().get(0, s32, 0, n);
                    for (int i = 0; i < n; i++) {
                        out[i] = (float) ((s32[i] & 0xffffffffL) * slope + inter);
                    }
                    return out;
                }
                case INT64, UINT64 -> {
                    raw.asLongBuffer().get(0, s64, 0, n);
                    boolean unsigned = type == NiftiDataType.UINT64;
                    for (int i = 0; i < n; i++) {
                        long r = s64[i];
                        double d = unsigned && r < 0 ? (double) (r >>> 1) * 2.0 + (r & 1) : r;
                        out[i] = (float) (d * slope + inter);
                    }
                    return out;
                }
                case FLOAT32 -> raw.asFloatBuffer().get(0, out, 0, n);
                case FLOAT64 -> {
                    raw.asDoubleBuffer().get(0, f64, 0, n);
                    for (int i = 0; i < n; i++) {
                        out[i] = (float) (f64[i] * slope + inter);
                    }
                    return out;
                }
            }
            if (!identity) {
                for (int i = 0; i < n; i++) {
                    out[i] = (float) (out[i] * slope + inter);
                }
            }
            return out;
        }

        /** @return how many of the last converted values are NaN or infinite (none for unscaled 8/16-bit input) */
        int nonFinite(int n) {
            if (identity && type.bytes() <= 2 && type != NiftiDataType.FLOAT32) {
                return 0;
            }
            int bad = 0;
            for (int i = 0; i < n; i++) {
                // x - x is 0 for finite x and NaN for NaN and both infinities.
                bad += out[i] - out[i] == 0 ? 0 : 1;
            }
            return bad;
        }

        int firstNonFinite(int n) {
            for (int i = 0; i < n; i++) {
                if (!Float.isFinite(out[i])) {
                    return i;
                }
            }
            return 0;
        }
    }
}
