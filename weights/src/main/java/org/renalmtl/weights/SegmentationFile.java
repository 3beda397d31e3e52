package org.renalmtl.weights;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Map;

/**
 * A segmentation weight file (FORMAT.md, "Segmentation models (nnU-Net v2)"), read and checked as
 * strictly as a {@link WeightFile} and by the same reader: the config parses
 * ({@link SegmentationConfigParser}), every tensor {@link SegmentationLayout} implies exists with its
 * exact shape and finite values, and nothing else is in the file. A classifier weight file is refused
 * by name. Tensors live off-heap, owned by this object until {@link #close}.
 */
public final class SegmentationFile implements AutoCloseable {
    private final Path path;
    private final SegmentationConfig config;
    private final TensorStore store;

    private SegmentationFile(Path path, SegmentationConfig config, TensorStore store) {
        this.path = path;
        this.config = config;
        this.store = store;
    }

    /**
     * Reads and checks a segmentation weight file.
     *
     * @throws WeightFormatException naming the file and every problem found
     */
    public static SegmentationFile load(Path path) {
        TensorStore.Loaded<SegmentationConfig> l = TensorStore.load(path,
                json -> SegmentationConfigParser.parse(json, path), SegmentationLayout::expected);
        return new SegmentationFile(path, l.config(), l.store());
    }

    /**
     * Reads only the config (for inspection and for planning without weights).
     *
     * @throws WeightFormatException if the file or its config is unusable
     */
    public static SegmentationConfig readConfig(Path path) {
        return SegmentationConfigParser.parse(TensorStore.configText(path), path);
    }

    /** @return the file this was read from */
    public Path path() {
        return path;
    }

    /** @return the checked config */
    public SegmentationConfig config() {
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

    /** @return all tensors, in {@link SegmentationLayout} order */
    public Map<String, Tensor> tensors() {
        return store.tensors();
    }

    /**
     * Frees a large tensor's memory now (see {@link WeightFile#release}); it must not be read again.
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
