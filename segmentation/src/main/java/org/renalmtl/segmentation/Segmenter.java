package org.renalmtl.segmentation;

import java.util.List;
import org.renalmtl.loader.Volume;

/**
 * The whole of nnUNetPredictor for one case and one network: {@link Preprocessor#preprocess},
 * {@link SlidingWindow#predict}, {@link Exporter#export}. Callers that want the stages separately (to time
 * them, or to run several folds on one preprocessed case) call those directly.
 */
public final class Segmenter {

    private Segmenter() {
    }

    /**
     * @param channels      one volume per input channel, read with {@code NiftiReader}
     * @param settings      the model's settings
     * @param network       the network on tiles
     * @param options       mirroring, accumulator, batch size, step
     * @param probabilities whether to return probabilities too
     * @return the label map (and probabilities) on the input's grid; close when done
     * @throws org.renalmtl.loader.VolumeInputException one line naming the file and the problem
     */
    public static SegmentationResult segment(List<Volume> channels, SegmentationSettings settings, PatchNetwork network,
                                             PredictionOptions options, boolean probabilities) {
        CaseProperties props;
        Grid logits;
        try (PreprocessedCase pre = Preprocessor.preprocess(channels, settings)) {
            props = pre.properties();
            logits = SlidingWindow.predict(pre.data(), settings, network, options);
        }
        // the network-grid image is freed before export, which needs memory of its own
        try (logits) {
            return Exporter.export(logits, props, settings, probabilities);
        }
    }
}
