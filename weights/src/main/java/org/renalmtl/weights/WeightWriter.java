package org.renalmtl.weights;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
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
            Files.move(tmp, path, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // the rename succeeded or the write failed; nothing useful to add
            }
        }
    }
}
