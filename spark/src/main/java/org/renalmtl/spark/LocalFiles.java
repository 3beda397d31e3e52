package org.renalmtl.spark;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.FileUtil;
import org.apache.hadoop.fs.Path;

/**
 * The case's files as local paths, which is what the readers (and dcm2niix) take: a {@code file:} URI is used in
 * place; any other Hadoop-compatible file system ({@code hdfs:}, {@code s3a:}, {@code abfs:}, ...) is copied, file or
 * DICOM folder, into a temporary folder deleted on {@link #close}. Messages that name a copy are given back naming
 * the original ({@link #restore}).
 */
final class LocalFiles implements AutoCloseable {
    private final Configuration conf;
    private final Map<String, String> copies = new LinkedHashMap<>(); // local copy -> original URI
    private java.nio.file.Path dir; // created on the first copy

    LocalFiles(Configuration conf) {
        this.conf = conf;
    }

    /**
     * The driver's Hadoop settings as plain entries, to ship to the executors: {@code spark.hadoop.*} options and
     * credentials set on the submit command line live only in the driver's configuration, and an executor that
     * built its own from the classpath would reach the file systems without them.
     *
     * @param conf the driver's configuration
     * @return every entry, resolved
     */
    static HashMap<String, String> entries(Configuration conf) {
        HashMap<String, String> m = new HashMap<>();
        for (Map.Entry<String, String> e : conf) {
            m.put(e.getKey(), e.getValue());
        }
        return m;
    }

    /**
     * @param entries what {@link #entries} gave on the driver
     * @return the same settings as a configuration on this executor
     */
    static Configuration configuration(Map<String, String> entries) {
        Configuration c = new Configuration(false);
        entries.forEach(c::set);
        return c;
    }

    /**
     * @param uri    a qualified file URI, or empty when the manifest's cell was
     * @param column the manifest column, for messages
     * @param where  where the case is in the manifest, for messages
     * @return a local path to it
     * @throws JobInputException if the cell is empty or the file is missing or unreadable (a case error)
     */
    java.nio.file.Path local(String uri, String column, String where) {
        if (uri.isEmpty()) {
            throw new JobInputException(where + ": no " + column + " given (empty cell)");
        }
        Path p = new Path(uri);
        if ("file".equals(p.toUri().getScheme())) {
            java.nio.file.Path local = java.nio.file.Path.of(p.toUri());
            if (!Files.exists(local)) {
                throw new JobInputException(local + ": no such file (" + column + ")");
            }
            if (!Files.isReadable(local)) {
                throw new JobInputException(local + ": not readable (" + column + "; check its permissions)");
            }
            return local;
        }
        try {
            FileSystem fs = p.getFileSystem(conf);
            if (!fs.exists(p)) {
                throw new JobInputException(uri + ": no such file (" + column + ")");
            }
            if (dir == null) {
                dir = Files.createTempDirectory("renal-mtl-case");
            }
            // Keep the name: the readers tell .nii from .nii.gz by it, and messages name it.
            java.nio.file.Path copy = dir.resolve(copies.size() + "-" + p.getName());
            FileUtil.copy(fs, p, FileSystem.getLocal(conf), new Path(copy.toUri()), false, conf);
            copies.put(copy.toString(), uri);
            return copy;
        } catch (IOException e) {
            throw new UncheckedIOException(uri + ": cannot be copied here (" + e.getMessage() + ")", e);
        }
    }

    /** @return the message with every local copy named by its original URI */
    String restore(String message) {
        String m = message;
        for (Map.Entry<String, String> c : copies.entrySet()) {
            m = m.replace(c.getKey(), c.getValue());
        }
        return m;
    }

    @Override
    public void close() {
        if (dir == null) {
            return;
        }
        try (Stream<java.nio.file.Path> all = Files.walk(dir)) {
            for (java.nio.file.Path f : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(f);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
