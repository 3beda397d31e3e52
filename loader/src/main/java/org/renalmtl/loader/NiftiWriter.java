package org.renalmtl.loader;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.List;
import java.util.zip.Deflater;
import java.util.zip.GZIPOutputStream;

/**
 * Writes a {@link Volume} as a single-file little-endian NIfTI-1 image ({@code .nii}, or gzip when the name
 * ends in {@code .gz}), keeping its geometry: the affine goes into the sform exactly (as float32, the format's
 * precision) and, when it has no shear, into the qform as well, so readers that only know one of them agree.
 *
 * <p>Several volumes on one grid go into one 4-D file ({@link #writeFloat4d}): dim[0] = 4, dim[4] = their
 * count, the volumes one after another (x fastest, the fourth index slowest, as NIfTI stores a series).
 *
 * <p>Nothing partial is ever left at the target path: the file is written to a temporary file in the same
 * directory and renamed over the target only when complete.
 */
public final class NiftiWriter {

    private static final int CHUNK = 1 << 20;

    private NiftiWriter() {
    }

    /**
     * Writes a label mask as uint8 (values rounded, clamped to 0..255).
     *
     * @param v    the mask
     * @param path target .nii or .nii.gz
     * @throws VolumeInputException naming the path when it cannot be written
     */
    public static void writeMask(Volume v, Path path) {
        write(v, path, NiftiDataType.UINT8, "");
    }

    /**
     * Writes a probability map or preprocessed image as float32.
     *
     * @param v    the volume
     * @param path target .nii or .nii.gz
     * @throws VolumeInputException naming the path when it cannot be written
     */
    public static void writeFloat(Volume v, Path path) {
        write(v, path, NiftiDataType.FLOAT32, "");
    }

    /**
     * Writes a volume.
     *
     * @param v        the volume
     * @param path     target .nii or .nii.gz
     * @param type     UINT8, INT16 (both rounded and clamped to the type's range) or FLOAT32
     * @param descrip  text for the header's descrip field (cut to 79 characters)
     * @throws VolumeInputException naming the path when it cannot be written
     */
    public static void write(Volume v, Path path, NiftiDataType type, String descrip) {
        write(List.of(v), false, path, type, descrip);
    }

    /**
     * Writes volumes on one grid as one 4-D float32 file (x, y, z, n): volume {@code n} is the n-th 3-D
     * image of the series, with the grid's affine in sform and qform as for a 3-D file. The fourth axis has no
     * unit (it indexes the volumes, e.g. classes, not time): xyzt_units says mm only.
     *
     * @param volumes  one or more volumes of one shape and geometry, in file order
     * @param path     target .nii or .nii.gz
     * @param descrip  text for the header's descrip field (cut to 79 characters), e.g. what the volumes are
     * @throws IllegalArgumentException if the list is empty or the volumes differ in shape or geometry
     * @throws VolumeInputException naming the path when it cannot be written
     */
    public static void writeFloat4d(List<Volume> volumes, Path path, String descrip) {
        if (volumes.isEmpty()) {
            throw new IllegalArgumentException("no volumes to write to " + path);
        }
        Volume first = volumes.getFirst();
        for (Volume v : volumes) {
            if (!Arrays.equals(v.shape(), first.shape()) || !v.geometry().equals(first.geometry())) {
                throw new IllegalArgumentException("4-D NIfTI needs one grid: " + v + " differs from " + first);
            }
        }
        write(volumes, true, path, NiftiDataType.FLOAT32, descrip);
    }

    private static void write(List<Volume> volumes, boolean fourD, Path path, NiftiDataType type, String descrip) {
        if (type != NiftiDataType.UINT8 && type != NiftiDataType.INT16 && type != NiftiDataType.FLOAT32) {
            throw new IllegalArgumentException("writer supports uint8, int16 and float32, not " + type);
        }
        Path abs = path.toAbsolutePath();
        Path dir = abs.getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            throw new VolumeInputException(path + ": cannot write: directory " + dir + " does not exist");
        }
        if (Files.isDirectory(abs)) {
            throw new VolumeInputException(path + ": cannot write: is a directory");
        }
        Path tmp;
        try {
            tmp = Files.createTempFile(dir, "." + abs.getFileName() + ".", ".tmp");
            publicReadable(tmp);
        } catch (AccessDeniedException e) {
            throw new VolumeInputException(path + ": cannot write: permission denied in " + dir, e);
        } catch (IOException e) {
            throw new VolumeInputException(path + ": cannot write (" + reason(e) + ")", e);
        }
        try {
            boolean gzip = abs.getFileName().toString().endsWith(".gz");
            try (OutputStream file = new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 16);
                 OutputStream out = gzip ? new FastGzip(file) : file) {
                out.write(header(volumes.getFirst(), fourD ? volumes.size() : 0, type, descrip));
                for (Volume v : volumes) {
                    writeVoxels(v, type, out);
                }
            }
            try {
                Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            deleteQuietly(tmp);
            throw new VolumeInputException(path + ": cannot write (" + reason(e) + ")", e);
        } catch (RuntimeException e) {
            deleteQuietly(tmp);
            throw e;
        }
    }

    /**
     * Temporary files are created owner-only (0600); outputs are meant to be shared like any file the user
     * writes, so they get rw-r--r-- where the file system has POSIX permissions.
     *
     * @param file a file just created
     * @throws IOException when the permissions cannot be set
     */
    public static void publicReadable(Path file) throws IOException {
        if (Files.getFileStore(file).supportsFileAttributeView(PosixFileAttributeView.class)) {
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
        }
    }

    /**
     * @param e an I/O failure
     * @return its reason without the path repeated (the message names the path already)
     */
    public static String reason(IOException e) {
        if (e instanceof FileSystemException f && f.getReason() != null) {
            return f.getReason();
        }
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage().replace('\n', ' ');
    }

    private static void deleteQuietly(Path tmp) {
        try {
            Files.deleteIfExists(tmp);
        } catch (IOException ignored) {
            // The write already failed; a stray hidden temporary file is the lesser problem.
        }
    }

    /**
     * The 348-byte NIfTI-1 header plus the 4-byte "no extensions" flag.
     *
     * @param v      the (first) volume: shape and geometry
     * @param series how many volumes follow along the fourth axis (a 4-D header, even for one); 0: a 3-D header
     */
    static byte[] header(Volume v, int series, NiftiDataType type, String descrip) {
        ByteBuffer b = ByteBuffer.allocate(352).order(ByteOrder.LITTLE_ENDIAN);
        Geometry g = v.geometry();
        double[] sp = g.spacing();
        b.putInt(0, NiftiHeader.NIFTI1_SIZE);
        b.put(38, (byte) 'r'); // "regular", as every writer sets it
        if (v.nx() > Short.MAX_VALUE || v.ny() > Short.MAX_VALUE || v.nz() > Short.MAX_VALUE || series > Short.MAX_VALUE) {
            throw new IllegalArgumentException("NIfTI-1 dims are limited to 32767: " + v + (series > 0 ? " x " + series : ""));
        }
        short[] dim = {(short) (series > 0 ? 4 : 3), (short) v.nx(), (short) v.ny(), (short) v.nz(), (short) Math.max(1, series),
            1, 1, 1};
        for (int i = 0; i < 8; i++) {
            b.putShort(40 + 2 * i, dim[i]);
        }
        b.putShort(70, (short) type.code());
        b.putShort(72, (short) (type.bytes() * 8));
        double[] q = Quaternion.of(g);
        b.putFloat(76, (float) q[6]); // qfac
        for (int i = 0; i < 3; i++) {
            b.putFloat(80 + 4 * i, (float) sp[i]);
        }
        for (int i = 4; i < 8; i++) {
            b.putFloat(76 + 4 * i, 1f);
        }
        b.putFloat(108, 352f);
        b.putFloat(112, 1f);
        b.putFloat(116, 0f);
        b.put(123, (byte) (series > 0 ? 2 : 2 | 8)); // mm, and seconds for a 3-D file's unused t
        byte[] d = descrip.getBytes(StandardCharsets.US_ASCII);
        b.put(148, d, 0, Math.min(79, d.length));
        int sform = g.sformCode() > 0 ? g.sformCode() : Math.max(1, g.qformCode());
        int qform = Double.isNaN(q[0]) ? 0 : g.qformCode() > 0 ? g.qformCode() : sform;
        b.putShort(252, (short) qform);
        b.putShort(254, (short) sform);
        for (int i = 0; i < 6; i++) {
            b.putFloat(256 + 4 * i, Double.isNaN(q[i]) ? 0f : (float) q[i]);
        }
        for (int r = 0; r < 3; r++) {
            for (int c = 0; c < 4; c++) {
                b.putFloat(280 + 16 * r + 4 * c, (float) g.at(r, c));
            }
        }
        b.put(344, (byte) 'n').put(345, (byte) '+').put(346, (byte) '1');
        return b.array();
    }

    private static void writeVoxels(Volume v, NiftiDataType type, OutputStream out) throws IOException {
        int bpv = type.bytes();
        byte[] chunk = new byte[CHUNK]; // little-endian voxel bytes
        MemorySegment c = MemorySegment.ofArray(chunk);
        MemorySegment src = v.data();
        long total = v.voxelCount();
        long done = 0;
        while (done < total) {
            int n = (int) Math.min(CHUNK / bpv, total - done);
            switch (type) {
                case UINT8 -> {
                    for (int i = 0; i < n; i++) {
                        float f = src.getAtIndex(ValueLayout.JAVA_FLOAT, done + i);
                        chunk[i] = (byte) Math.clamp(Math.round(f), 0, 255);
                    }
                }
                case INT16 -> {
                    ValueLayout.OfShort l = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
                    for (int i = 0; i < n; i++) {
                        float f = src.getAtIndex(ValueLayout.JAVA_FLOAT, done + i);
                        c.set(l, 2L * i, (short) Math.clamp(Math.round(f), Short.MIN_VALUE, Short.MAX_VALUE));
                    }
                }
                default -> {
                    ValueLayout.OfFloat l = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
                    for (int i = 0; i < n; i++) {
                        c.set(l, 4L * i, src.getAtIndex(ValueLayout.JAVA_FLOAT, done + i));
                    }
                }
            }
            out.write(chunk, 0, n * bpv);
            done += n;
        }
    }

    /** gzip at deflate level 1: masks and CT compress almost as well and several times faster than level 6. */
    private static final class FastGzip extends GZIPOutputStream {
        FastGzip(OutputStream out) throws IOException {
            super(out, 1 << 16);
            def.setLevel(Deflater.BEST_SPEED);
        }
    }
}
