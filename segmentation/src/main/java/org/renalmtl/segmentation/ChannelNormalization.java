package org.renalmtl.segmentation;

/**
 * How one input channel is normalised before resampling, with the statistics nnU-Net's plans store for it
 * ({@code foreground_intensity_properties_per_channel}).
 *
 * @param scheme         the plans' {@code normalization_schemes} entry
 * @param useMaskForNorm ZScore only: normalise over the non-zero region (hole-filled) instead of the whole crop
 * @param mean           CT: the dataset's foreground mean
 * @param std            CT: the dataset's foreground standard deviation
 * @param percentile005  CT: lower clip bound (foreground 0.5th percentile)
 * @param percentile995  CT: upper clip bound (foreground 99.5th percentile)
 */
public record ChannelNormalization(Scheme scheme, boolean useMaskForNorm, double mean, double std,
                                   double percentile005, double percentile995) {

    /** nnU-Net's three default schemes; any other is refused where settings are read. */
    public enum Scheme {
        /** Clip to the dataset percentiles, subtract the dataset mean, divide by max(std, 1e-8). */
        CT_NORMALIZATION,
        /** Per image: subtract its mean, divide by max(its std, 1e-8). */
        ZSCORE_NORMALIZATION,
        /** Cast to float32 only. */
        NO_NORMALIZATION;

        /**
         * @param name the plans' class name, e.g. {@code CTNormalization}
         * @return the scheme
         * @throws IllegalArgumentException naming an unknown scheme
         */
        public static Scheme fromPlansName(String name) {
            return switch (name) {
                case "CTNormalization" -> CT_NORMALIZATION;
                case "ZScoreNormalization" -> ZSCORE_NORMALIZATION;
                case "NoNormalization" -> NO_NORMALIZATION;
                default -> throw new IllegalArgumentException("normalisation scheme " + name
                    + " is not supported (CTNormalization, ZScoreNormalization, NoNormalization)");
            };
        }
    }

    /** Checks that a CT scheme has usable statistics. */
    public ChannelNormalization {
        if (scheme == null) {
            throw new IllegalArgumentException("normalisation scheme missing");
        }
        if (scheme == Scheme.CT_NORMALIZATION && !(Double.isFinite(mean) && Double.isFinite(std)
            && Double.isFinite(percentile005) && Double.isFinite(percentile995) && percentile005 <= percentile995)) {
            throw new IllegalArgumentException("CTNormalization needs finite mean, std and percentiles with p0.5 <= p99.5");
        }
    }

    /** @return CT normalisation with the dataset's statistics */
    public static ChannelNormalization ct(double mean, double std, double p005, double p995) {
        return new ChannelNormalization(Scheme.CT_NORMALIZATION, false, mean, std, p005, p995);
    }

    /** @return per-image z-scoring, over the non-zero region when {@code useMask} */
    public static ChannelNormalization zScore(boolean useMask) {
        return new ChannelNormalization(Scheme.ZSCORE_NORMALIZATION, useMask, 0, 0, 0, 0);
    }

    /** @return no normalisation */
    public static ChannelNormalization none() {
        return new ChannelNormalization(Scheme.NO_NORMALIZATION, false, 0, 0, 0, 0);
    }
}
