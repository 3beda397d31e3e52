package org.renalmtl.weights;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Map;

/**
 * A weight file, read and checked completely before any compute: the config parses, every tensor
 * it implies exists with its exact shape and finite values, and nothing else is in the file.
 * Tensors live off-heap, owned by this object: the small ones in one block, each large one
 * ({@value TensorStore#OWN_MEMORY_BYTES} bytes or more: the conv and linear weights, nearly all of the model) in
 * memory of its own, so that a backend that packs the weights into its own layouts can {@link #release}
 * each as soon as it is packed, instead of holding the whole model twice until the last one is.
 */
public final class WeightFile implements AutoCloseable {
    /** Root attribute holding the JSON config. */
    public static final String CONFIG_ATTRIBUTE = "renal_mtl_config";

    private final Path path;
    private final ModelConfig config;
    private final TensorStore store;

    private WeightFile(Path path, ModelConfig config, TensorStore store) {
        this.path = path;
        this.config = config;
        this.store = store;
    }

    /**
     * Reads and checks a weight file.
     *
     * @throws WeightFormatException naming the file and every problem found
     */
    public static WeightFile load(Path path) {
        TensorStore.Loaded<ModelConfig> l = TensorStore.load(path, json -> ConfigParser.parse(json, path),
                TensorLayout::expected);
        return new WeightFile(path, l.config(), l.store());
    }

    /**
     * Reads only the config (for {@code inspect} and for planning without weights).
     *
     * @throws WeightFormatException if the file or its config is unusable
     */
    public static ModelConfig readConfig(Path path) {
        return ConfigParser.parse(TensorStore.configText(path), path);
    }

    /** @return the file this was read from */
    public Path path() {
        return path;
    }

    /** @return the checked config */
    public ModelConfig config() {
        return config;
    }

    /** @return the tensor of this name; it is guaranteed present once loaded */
    public Tensor tensor(String name) {
        Tensor t = store.tensors().get(name);
        if (t == null) {
            throw new IllegalArgumentException("no tensor " + name + " in " + path);
        }
        return t;
    }

    /** @return all tensors, in {@link TensorLayout} order */
    public Map<String, Tensor> tensors() {
        return store.tensors();
    }

    /**
     * Frees a large tensor's memory now, for a caller that holds its values elsewhere (packed into a
     * backend's layout); the tensors in this memory must not be read again. Memory that is not a large
     * tensor's of this file (a small tensor, another owner's, one released already) is left alone, to be
     * freed by {@link #close}.
     *
     * @param data a tensor's data (or any view starting where it does)
     */
    public void release(MemorySegment data) {
        store.release(data);
    }

    @Override
    public void close() {
        store.close();
    }
}
