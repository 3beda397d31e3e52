package org.renalmtl.segmentation;

import java.nio.file.Path;
import java.util.List;
import org.renalmtl.engine.Device;
import org.renalmtl.engine.Precision;
import org.renalmtl.loader.Volume;
import org.renalmtl.weights.SegmentationConfig;
import org.renalmtl.weights.SegmentationFile;

/**
 * A segmentation weight file ready to segment: its settings and its U-Net compiled for the sliding window's
 * batch. {@link #segment} runs nnU-Net v2's inference ({@link Segmenter}) on one case. The file's tensors are
 * released once the backend has its own copy.
 */
public final class SegmentationModel implements AutoCloseable {
    private final Path path;
    private final SegmentationConfig config;
    private final SegmentationSettings settings;
    private final PredictionOptions options;
    private final UNetPatchNetwork network;

    private SegmentationModel(Path path, SegmentationConfig config, PredictionOptions options, UNetPatchNetwork network) {
        this.path = path;
        this.config = config;
        this.settings = SegmentationSettings.of(config);
        this.options = options;
        this.network = network;
    }

    /**
     * Loads and compiles a segmentation weight file.
     *
     * @param path the weight file (weights/FORMAT.md, "Segmentation models")
     * @param device where the network runs
     * @param precision convolution arithmetic on CUDA
     * @param options mirroring, accumulation, tiles per network call, step
     * @throws org.renalmtl.weights.WeightFormatException if the file is not a valid segmentation model
     */
    public static SegmentationModel load(Path path, Device device, Precision precision, PredictionOptions options) {
        try (SegmentationFile file = SegmentationFile.load(path)) {
            UNetPatchNetwork net = new UNetPatchNetwork(file, options.batchSize(), device, precision);
            try {
                return new SegmentationModel(path, file.config(), options, net);
            } catch (RuntimeException e) {
                net.close();
                throw e;
            }
        }
    }

    /** @return the file's config: labels, the renal-mtl tumour/kidney mapping, the phases it segments */
    public SegmentationConfig config() {
        return config;
    }

    /** @return the weight file */
    public Path path() {
        return path;
    }

    /**
     * Segments one case.
     *
     * @param channels one volume per input channel, on one grid, in the config's channel order
     * @param probabilities whether to also return each output's probabilities on the input grid
     * @return the label map on the input grid (and probabilities when asked); the caller closes it
     * @throws org.renalmtl.loader.VolumeInputException if the channels do not fit the model
     */
    public SegmentationResult segment(List<Volume> channels, boolean probabilities) {
        return Segmenter.segment(channels, settings, network, options, probabilities);
    }

    @Override
    public void close() {
        network.close();
    }
}
