package org.renalmtl.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.List;
import java.util.Map;
import org.renalmtl.pipeline.Provenance;

/**
 * A cohort's results CSV, held under an advisory lock for the whole run so that two runs never write
 * one file. It is only appended to after it has been validated as a results file of this run (same
 * header, every row complete and of the same {@link Provenance}); any other file is refused untouched. A new file
 * appears complete (header written to a temporary file, then linked into place) or not at all, and is removed again
 * if the run ends before its first row. A retried case's new row is appended first; the error row it replaces is
 * dropped when the file is closed, by writing the remaining rows to a temporary file renamed over this one, so a
 * crash at any point leaves every case with a row.
 */
final class ResultsFile implements AutoCloseable {
    private final Path path;
    private final FileChannel channel;
    private final FileLock lock;
    private final ResultsRows rows; // what the file held when opened, and error rows replaced since
    private final boolean created;
    private boolean appended;

    private ResultsFile(Path path, FileChannel channel, FileLock lock, ResultsRows rows, boolean created) {
        this.path = path;
        this.channel = channel;
        this.lock = lock;
        this.rows = rows;
        this.created = created;
    }

    /**
     * Opens (or creates) the results file and locks it.
     *
     * @param out the results file; must be a regular file or absent
     * @param header this model's results header
     * @param provenance what this run writes into each row
     * @return the open file, positioned at its end
     * @throws InputException if the file is not ours, is locked by another run, or is no regular file
     */
    static ResultsFile open(Path out, List<String> header, Provenance provenance) {
        AtomicFiles.checkWritable(out);
        boolean created = false;
        if (!Files.exists(out, LinkOption.NOFOLLOW_LINKS)) {
            created = createWithHeader(out, header);
        }
        FileChannel ch = null;
        try {
            Object key = fileKey(out);
            ch = FileChannel.open(out, StandardOpenOption.READ, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
            FileLock lock = ch.tryLock();
            if (lock == null) {
                throw new InputException(out + ": another renal-mtl run is writing it; wait for it to end");
            }
            if (key == null || !key.equals(fileKey(out))) {
                // A run that retried failed cases renamed a new file into place after this one opened the old.
                throw new InputException(out + ": another renal-mtl run replaced it just now; run again");
            }
            String first = firstLine(ch, out);
            if (!first.equals(String.join(",", header))) {
                String why = ResultsRows.whyNotOurs(out, header, provenance);
                throw new InputException(out + ": " + why + (why.startsWith("not a results file")
                        ? " (its first line is '" + clip(first) + "'); choose another --out or remove it" : ""));
            }
            long repaired = dropUnfinishedRow(ch);
            if (repaired > 0) {
                System.err.printf("renal-mtl: %s: removed an unfinished last row (%d bytes) left by an interrupted run%n",
                        out, repaired);
            }
            ResultsRows rows = new ResultsRows(out, provenance);
            ch.position(ch.size());
            ResultsFile f = new ResultsFile(out, ch, lock, rows, created);
            ch = null;
            return f;
        } catch (IOException e) {
            throw new UncheckedIOException(out + ": cannot open: " + e.getMessage(), e);
        } finally {
            if (ch != null) {
                closeQuietly(ch);
                if (created) {
                    deleteQuietly(out);
                }
            }
        }
    }

    /** @return the status ({@code ok} or {@code error}) of each case id the file held when opened */
    Map<String, String> status() {
        return rows.status;
    }

    /**
     * Appends one complete row (its fields already CSV-quoted); an error row of the same case already in the file
     * is dropped when the file is closed.
     */
    void append(String caseId, List<String> row) {
        ByteBuffer b = ByteBuffer.wrap((String.join(",", row) + "\n").getBytes(StandardCharsets.UTF_8));
        try {
            while (b.hasRemaining()) {
                channel.write(b);
            }
            appended = true;
            Integer old = rows.errorLine.remove(caseId);
            if (old != null) {
                rows.superseded.add(old);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(path + ": cannot write: " + e.getMessage(), e);
        }
    }

    /**
     * Drops the error rows that retried cases replaced, then releases the lock; a file this run created and never
     * added a row to is removed.
     */
    @Override
    public void close() {
        try {
            if (!rows.superseded.isEmpty()) {
                dropSuperseded();
            }
        } finally {
            closeQuietly(lock.channel());
        }
        if (created && !appended) {
            deleteQuietly(path);
        }
    }

    /** Header into a temporary file, then a hard link: the name appears complete, and never over another file. */
    private static boolean createWithHeader(Path out, List<String> header) {
        Path tmp = null;
        try {
            tmp = Files.createTempFile(out.toAbsolutePath().getParent(), "." + out.getFileName(), ".tmp");
            Files.writeString(tmp, String.join(",", header) + "\n", StandardCharsets.UTF_8);
            AtomicFiles.publicReadable(tmp);
            Files.createLink(out, tmp);
            return true;
        } catch (FileAlreadyExistsException e) {
            return false; // another run created it first; the lock decides who writes
        } catch (IOException e) {
            throw new UncheckedIOException(out + ": cannot create: " + e.getMessage(), e);
        } finally {
            if (tmp != null) {
                deleteQuietly(tmp);
            }
        }
    }

    private static String firstLine(FileChannel ch, Path out) throws IOException {
        ByteBuffer b = ByteBuffer.allocate((int) Math.min(ch.size(), 1 << 16));
        ch.read(b, 0);
        String s = new String(b.array(), 0, b.position(), StandardCharsets.UTF_8);
        int nl = s.indexOf('\n');
        if (nl < 0) {
            throw new InputException(out + ": not a results file of this model (no complete header line);"
                    + " choose another --out or remove it");
        }
        return s.substring(0, nl);
    }

    /**
     * Every row is written with its newline, so a file that does not end in one was cut while a row
     * was being written (the run was killed): that case did not finish. Its partial row is removed so
     * that it is run again and the next row starts on a line of its own. Called after the header was
     * checked, so only a file of ours is ever shortened.
     *
     * @return bytes removed
     */
    private static long dropUnfinishedRow(FileChannel ch) throws IOException {
        long size = ch.size();
        ByteBuffer buf = ByteBuffer.allocate(8192);
        for (long end = size; end > 0; end = Math.max(0, end - buf.capacity())) {
            long start = Math.max(0, end - buf.capacity());
            int n = (int) (end - start);
            buf.clear().limit(n);
            while (buf.position() < n) {
                if (ch.read(buf, start + buf.position()) < 0) {
                    throw new IOException("file shrank while being read");
                }
            }
            for (int i = n - 1; i >= 0; i--) {
                if (buf.get(i) == '\n') {
                    long keep = start + i + 1;
                    ch.truncate(keep);
                    return size - keep;
                }
            }
        }
        return 0; // unreachable after firstLine found a newline
    }

    /** Every line but the replaced error rows, into a temporary file renamed over this one (while still locked). */
    private void dropSuperseded() {
        try {
            List<String> lines = Files.readAllLines(path, StandardCharsets.UTF_8);
            StringBuilder kept = new StringBuilder();
            for (int i = 0; i < lines.size(); i++) {
                if (!rows.superseded.contains(i + 1)) {
                    kept.append(lines.get(i)).append('\n');
                }
            }
            AtomicFiles.writeString(path, kept.toString());
        } catch (IOException e) {
            throw new UncheckedIOException(path + ": cannot drop the replaced error rows (each retried case has its"
                    + " new row after its old one; the next run drops them): " + e.getMessage(), e);
        }
    }

    private static Object fileKey(Path p) throws IOException {
        return Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
    }

    private static String clip(String s) {
        String one = s.replaceAll("\\p{Cntrl}", "?");
        return one.length() > 80 ? one.substring(0, 77) + "..." : one;
    }

    private static void closeQuietly(FileChannel ch) {
        try {
            ch.close(); // releases the lock too
        } catch (IOException ignored) {
            // nothing was pending: rows are written whole, and a failed close loses no data already written
        }
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // best effort: the original error is the one to report
        }
    }
}
