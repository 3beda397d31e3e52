package org.renalmtl.weights;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Map;

/**
 * What every kind of weight file is once read and checked ({@link WeightFile}, {@link SegmentationFile}):
 * its path, its parsed config and its tensors, off-heap, owned by this object until {@link #close}.
 * Small tensors share one block; each large one ({@value TensorStore#OWN_MEMORY_BYTES} bytes or more: the
 * conv and linear weights, nearly all of a model) has memory of its own, so that a backend that packs the
 * weights into its own layouts can {@link #release} each as soon as it is packed, instead of holding the
 * whole model twice until the last one is.
 *
 * @param <C> the config type of the file's kind
 */
public abstract sealed class TensorFile<C> implements AutoCloseable permits WeightFile, SegmentationFile {
    private final Path path;
    private final C config;
    private final TensorStore store;

    TensorFile(Path path, C config, TensorStore store) {
        this.path = path;
        this.config = config;
        this.store = store;
    }

    /** @return the file this was read from */
    public Path path() {
        return path;
    }

    /** @return the checked config */
    public C config() {
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

    /** @return all tensors, in the order the config's layout lists them */
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
