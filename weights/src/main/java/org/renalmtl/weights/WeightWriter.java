package org.renalmtl.weights;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import org.renalmtl.weights.hdf5.Hdf5Exception;
import org.renalmtl.weights.hdf5.Hdf5File;

/** Writes a weight file (format v1) atomically: to a temporary file beside it, then a rename. */
public final class WeightWriter {
    private WeightWriter() {}

    /**
     * @param path destination
     * @param configJson the config JSON (must parse to a config whose layout matches {@code tensors})
     * @param tensors name → tensor, float32
     */
    public static void write(Path path, String configJson, Map<String, Tensor> tensors) {
        Path dir = path.toAbsolutePath().getParent();
        Path tmp;
        try {
            tmp = Files.createTempFile(dir, "." + path.getFileName(), ".tmp");
        } catch (IOException e) {
            throw new WeightFormatException(path, "cannot write here: " + e.getMessage());
        }
        try {
            try (Hdf5File h5 = Hdf5File.create(tmp)) {
                h5.writeStringAttribute(WeightFile.CONFIG_ATTRIBUTE, configJson);
                for (Tensor t : tensors.values()) {
                    h5.writeFloats(t.name(), t.shape(), t.data());
                }
            }
            // The temporary file is owner-only (0600); a model file is meant to be shared: rw-r--r--.
            if (Files.getFileStore(tmp).supportsFileAttributeView(PosixFileAttributeView.class)) {
                Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-r--r--"));
            }
            Files.move(tmp, path, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new WeightFormatException(path, "cannot write: " + e.getMessage());
        } catch (Hdf5Exception e) {
            throw new WeightFormatException(path, "cannot write: " + e.getMessage());
        } finally {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // the rename succeeded or the write failed; nothing useful to add
            }
        }
    }
}
