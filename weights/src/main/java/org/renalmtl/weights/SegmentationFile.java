package org.renalmtl.weights;

import java.nio.file.Path;

/**
 * A segmentation weight file (FORMAT.md, "Segmentation models (nnU-Net v2)"), read and checked as
 * strictly as a {@link WeightFile} and by the same reader: the config parses
 * ({@link SegmentationConfigParser}), every tensor {@link SegmentationLayout} implies exists with its
 * exact shape and finite values, and nothing else is in the file. A classifier weight file is refused
 * by name. Tensors live off-heap, owned by this object until {@link #close}.
 */
public final class SegmentationFile extends TensorFile<SegmentationConfig> {
    private SegmentationFile(Path path, SegmentationConfig config, TensorStore store) {
        super(path, config, store);
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
}
