package org.renalmtl.loader.preprocess;

/** How clipped intensities are mapped to network input values. */
public enum Normalisation {
    /** {@code (hu - mean) / std} with the model config's statistics. */
    ZSCORE,
    /** {@code (hu - huLow) / (huHigh - huLow)}, i.e. the HU window mapped to [0, 1]. */
    WINDOW
}
