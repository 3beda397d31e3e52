package org.renalmtl.loader;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * A private temporary directory (owner-only where permissions are POSIX: dcm2niix's sidecars and the masks a
 * segmentation model writes there are patient data) that is removed with everything in it on {@link #close()}, and also when the JVM exits
 * before that (Ctrl-C, SIGTERM): a shutdown hook first ends the external process working in it, if any, then
 * removes the tree. Only SIGKILL or a crash of the JVM itself can leave it behind.
 */
public final class ScratchDirectory implements AutoCloseable {
    private final Path dir;
    private final Thread hook;
    private volatile Process process; // the tool writing here, ended by the hook before the tree goes

    private ScratchDirectory(Path dir) {
        this.dir = dir;
        this.hook = new Thread(this::removeAtExit, "renal-mtl scratch cleanup");
        Runtime.getRuntime().addShutdownHook(hook);
    }

    /**
     * @param prefix the directory name's prefix, in the JVM's temporary folder ({@code java.io.tmpdir})
     * @return the new, empty directory
     */
    public static ScratchDirectory create(String prefix) {
        try {
            Path tmp = Path.of(System.getProperty("java.io.tmpdir"));
            Path d = Files.getFileStore(tmp).supportsFileAttributeView("posix")
                    ? Files.createTempDirectory(tmp, prefix, PosixFilePermissions.asFileAttribute(
                            PosixFilePermissions.fromString("rwx------")))
                    : Files.createTempDirectory(tmp, prefix);
            return new ScratchDirectory(d);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a temporary folder in " + System.getProperty("java.io.tmpdir")
                    + " (" + e.getMessage() + ")", e);
        }
    }

    /** @return the directory */
    public Path path() {
        return dir;
    }

    /** @param p the external process now writing here (ended at JVM exit before the tree is removed), or null */
    public void running(Process p) {
        process = p;
    }

    /** Removes the directory and its contents now. */
    @Override
    public void close() {
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            return; // the hook is running or about to: it removes the tree
        }
        try {
            delete(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(dir + ": cannot remove the temporary folder (" + e.getMessage() + ")", e);
        }
    }

    private void removeAtExit() {
        Process p = process;
        if (p != null) {
            p.destroyForcibly();
            try {
                p.waitFor();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        try {
            delete(dir);
        } catch (IOException e) {
            System.err.println("renal-mtl: could not remove the temporary folder " + dir + " (" + e.getMessage() + ")");
        }
    }

    private static void delete(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.delete(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                if (e != null) {
                    throw e;
                }
                Files.delete(d);
                return FileVisitResult.CONTINUE;
            }
        });
    }
}
