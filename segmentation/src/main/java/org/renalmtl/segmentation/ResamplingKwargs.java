package org.renalmtl.segmentation;

/**
 * The plans' {@code resampling_fn_data_kwargs} or {@code resampling_fn_probabilities_kwargs} for nnU-Net's
 * default resampling.
 *
 * @param order                         spline order in-plane (or everywhere without separate z): 0, 1 or 3
 * @param orderZ                        order along the low-resolution axis on the separate-z path: 0, 1 or 3
 * @param forceSeparateZ                null: decided by the anisotropy threshold; otherwise forced on or off
 * @param separateZAnisotropyThreshold  max/min spacing above which z is resampled separately (3 by default)
 */
public record ResamplingKwargs(int order, int orderZ, Boolean forceSeparateZ, double separateZAnisotropyThreshold) {

    /** Checks the orders (the spline orders implemented here, and the ones nnU-Net's plans use). */
    public ResamplingKwargs {
        if (!validOrder(order) || !validOrder(orderZ)) {
            throw new IllegalArgumentException("resampling order must be 0, 1 or 3, got order " + order
                + ", order_z " + orderZ);
        }
        if (!(separateZAnisotropyThreshold > 0)) {
            throw new IllegalArgumentException("separate_z_anisotropy_threshold must be positive, got "
                + separateZAnisotropyThreshold);
        }
    }

    private static boolean validOrder(int o) {
        return o == 0 || o == 1 || o == 3;
    }

    /** @return nnU-Net's default for images: order 3, order_z 0, separate z decided at threshold 3 */
    public static ResamplingKwargs defaultData() {
        return new ResamplingKwargs(3, 0, null, 3.0);
    }

    /** @return nnU-Net's default for logits: order 1, order_z 0, separate z decided at threshold 3 */
    public static ResamplingKwargs defaultProbabilities() {
        return new ResamplingKwargs(1, 0, null, 3.0);
    }
}
