package org.renalmtl.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;

/** Output files that are either complete or absent: written beside the target, then renamed. */
final class AtomicFiles {
    private AtomicFiles() {}

    /**
     * Fails early, before any work, if {@code out} cannot be created. An output is a regular file or
     * absent: a symbolic link, a device, a pipe or a directory is never replaced or written through
     * (as root, {@code --out /dev/null} would otherwise replace {@code /dev/null}).
     */
    static void checkWritable(Path out) {
        if (Files.isSymbolicLink(out)) {
            throw new InputException(out + ": cannot write: it is a symbolic link (outputs are never written through links)");
        }
        if (Files.exists(out, LinkOption.NOFOLLOW_LINKS) && !Files.isRegularFile(out, LinkOption.NOFOLLOW_LINKS)) {
            throw new InputException(out + ": cannot write: " + (Files.isDirectory(out) ? "it is a directory"
                    : "not a regular file (a device, pipe or socket)"));
        }
        Path dir = out.toAbsolutePath().getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            throw new InputException(out + ": cannot write: directory " + dir + " does not exist");
        }
        if (!Files.isWritable(dir)) {
            throw new InputException(out + ": cannot write: directory " + dir + " is not writable");
        }
    }

    /**
     * Temporary files are created owner-only (0600); a result is meant to be shared like any file the
     * user writes (and like the NIfTI outputs), so it gets rw-r--r-- where permissions are POSIX.
     */
    static void publicReadable(Path file) throws IOException {
        if (Files.getFileStore(file).supportsFileAttributeView(PosixFileAttributeView.class)) {
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
        }
    }

    static void writeString(Path out, String text) {
        checkWritable(out);
        Path tmp = null;
        try {
            tmp = Files.createTempFile(out.toAbsolutePath().getParent(), "." + out.getFileName(), ".tmp");
            Files.writeString(tmp, text, StandardCharsets.UTF_8);
            publicReadable(tmp);
            Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException(out + ": cannot write: " + e.getMessage(), e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // the move succeeded, or the original error is the one to report
                }
            }
        }
    }
}
