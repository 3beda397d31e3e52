package org.renalmtl.segmentation;

/**
 * How the sliding window runs.
 *
 * @param mirroring    test-time mirroring over the model's allowed axes (nnU-Net's default; off is
 *                     {@code --disable_tta})
 * @param accumulation FLOAT16 accumulates and returns logits in fp16 exactly as nnUNetPredictor does; FLOAT32
 *                     keeps them in float32 (more exact, twice the memory)
 * @param batchSize    network inputs per {@link PatchNetwork#run} call (tiles × mirror variants are queued in
 *                     order and cut into batches of this size)
 * @param tileStepSize tile step as a fraction of the patch, in (0, 1] (nnU-Net: 0.5)
 */
public record PredictionOptions(boolean mirroring, Grid.Storage accumulation, int batchSize, double tileStepSize) {

    /** Checks the ranges. */
    public PredictionOptions {
        if (accumulation == null) {
            throw new IllegalArgumentException("accumulation type missing");
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be at least 1, got " + batchSize);
        }
        if (!(tileStepSize > 0 && tileStepSize <= 1)) {
            throw new IllegalArgumentException("tile step size must be in (0, 1], got " + tileStepSize);
        }
    }

    /** @return nnUNetPredictor's defaults: mirroring, fp16 accumulation, one input per call, step 0.5 */
    public static PredictionOptions nnunetDefaults() {
        return new PredictionOptions(true, Grid.Storage.FLOAT16, 1, 0.5);
    }

    /** @return these options with another batch size */
    public PredictionOptions withBatchSize(int n) {
        return new PredictionOptions(mirroring, accumulation, n, tileStepSize);
    }

    /** @return these options with mirroring switched */
    public PredictionOptions withMirroring(boolean on) {
        return new PredictionOptions(on, accumulation, batchSize, tileStepSize);
    }

    /** @return these options with another accumulator type */
    public PredictionOptions withAccumulation(Grid.Storage type) {
        return new PredictionOptions(mirroring, type, batchSize, tileStepSize);
    }
}
