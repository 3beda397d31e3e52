package org.renalmtl.weights;

import java.nio.file.Path;

/**
 * A weight file, read and checked completely before any compute: the config parses, every tensor
 * it implies exists with its exact shape and finite values, and nothing else is in the file.
 * Tensors live off-heap, owned by this object: the small ones in one block, each large one
 * ({@value TensorStore#OWN_MEMORY_BYTES} bytes or more: the conv and linear weights, nearly all of the model) in
 * memory of its own, so that a backend that packs the weights into its own layouts can {@link #release}
 * each as soon as it is packed, instead of holding the whole model twice until the last one is.
 */
public final class WeightFile extends TensorFile<ModelConfig> {
    /** Root attribute holding the JSON config. */
    public static final String CONFIG_ATTRIBUTE = "renal_mtl_config";

    private WeightFile(Path path, ModelConfig config, TensorStore store) {
        super(path, config, store);
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
}
