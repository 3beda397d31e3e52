package org.renalmtl.segmentation;

/**
 * A case ready for the sliding window: the normalised, resampled channels and what export needs.
 *
 * @param data       (C, D, H, W) float32 on the network's grid; owned, freed by {@link #close()}
 * @param properties how to map predictions back to the input files
 */
public record PreprocessedCase(Grid data, CaseProperties properties) implements AutoCloseable {

    /** Frees the data. */
    @Override
    public void close() {
        data.close();
    }
}
