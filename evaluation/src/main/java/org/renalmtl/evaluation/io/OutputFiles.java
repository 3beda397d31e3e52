package org.renalmtl.evaluation.io;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.renalmtl.evaluation.EvaluationInputException;

/**
 * The files of one command's output, built fully in memory and then written together: each goes to a
 * temporary file in the output directory and is renamed into place atomically, so a reader never
 * sees a half-written file and a failure leaves no partial output.
 */
public final class OutputFiles {

    private final Map<String, byte[]> files = new LinkedHashMap<>(); // file name -> content

    /** Adds (or replaces) a file. */
    public void put(String name, byte[] content) {
        if (name.contains("/") || name.contains("\\") || name.startsWith(".")) {
            throw new IllegalArgumentException("plain file name expected: " + name);
        }
        files.put(name, content);
    }

    // Temporary files are created owner-only; results are ordinary files (rw-r--r--) like any other output.
    private static void readableByAll(Path file) throws IOException {
        try {
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
        } catch (UnsupportedOperationException e) {
            // not a POSIX file system: keep the default permissions
        }
    }

    /** Names of the files, in insertion order. */
    public List<String> names() {
        return List.copyOf(files.keySet());
    }

    /**
     * Writes every file into {@code dir} (created if needed). Every target is checked first: each must
     * be a regular file or absent (never a directory, a symbolic link, a device or a pipe), so a
     * command fails before it has replaced any of its files. On failure nothing of this call remains,
     * not even the directories it created.
     *
     * @throws EvaluationInputException naming the file or directory that cannot be written
     */
    public void commit(Path dir) {
        for (String name : files.keySet()) {
            Path target = dir.resolve(name);
            if (Files.isSymbolicLink(target)) {
                throw new EvaluationInputException(target + ": cannot write: it is a symbolic link");
            }
            if (Files.exists(target, LinkOption.NOFOLLOW_LINKS) && !Files.isRegularFile(target, LinkOption.NOFOLLOW_LINKS)) {
                throw new EvaluationInputException(target + ": cannot write: " + (Files.isDirectory(target)
                        ? "it is a directory" : "not a regular file (a device, pipe or socket)"));
            }
        }
        Path created = firstMissing(dir.toAbsolutePath());
        List<Path> temps = new ArrayList<>();
        try {
            Files.createDirectories(dir);
            List<Path> targets = new ArrayList<>();
            for (Map.Entry<String, byte[]> e : files.entrySet()) {
                Path tmp = Files.createTempFile(dir, "." + e.getKey() + ".", ".tmp");
                temps.add(tmp);
                Files.write(tmp, e.getValue());
                readableByAll(tmp);
                targets.add(dir.resolve(e.getKey()));
            }
            for (int i = 0; i < temps.size(); i++) {
                try {
                    Files.move(temps.get(i), targets.get(i), StandardCopyOption.ATOMIC_MOVE,
                        StandardCopyOption.REPLACE_EXISTING);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(temps.get(i), targets.get(i), StandardCopyOption.REPLACE_EXISTING);
                }
            }
        } catch (IOException e) {
            for (Path t : temps) {
                deleteQuietly(t);
            }
            if (created != null) {
                // Only this call's temporary files were ever in there, and they are gone: remove the empty levels.
                for (Path p = dir.toAbsolutePath(); p != null && p.startsWith(created); p = p.getParent()) {
                    deleteQuietly(p);
                }
            }
            throw new EvaluationInputException(dir + ": cannot write output: " + e.getMessage());
        }
    }

    /** @return the outermost missing directory on the way to {@code dir}, or null if it exists */
    private static Path firstMissing(Path dir) {
        Path missing = null;
        for (Path p = dir; p != null && !Files.exists(p); p = p.getParent()) {
            missing = p;
        }
        return missing;
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // best effort: the original error is the one to report
        }
    }
}
