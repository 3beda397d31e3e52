package org.renalmtl.engine.cuda;

/**
 * How one convolution layer of a plan runs, chosen at plan time: what profiles and the benchmark
 * JSON record per layer.
 *
 * @param layer e.g. {@code mtdl/layer1.0.conv1}, or {@code renal/venous/conv1} for a separate-fusion backbone
 * @param candidate the algorithm and the math type it runs with
 * @param mode fused call, or the plain convolution plus our bias/activation kernel
 */
record ConvChoice(String layer, ConvCandidate candidate, Mode mode) {
    /** How a convolution is issued. */
    enum Mode {
        /** {@code cudnnConvolutionBiasActivationForward}: act(conv(x) + z + bias), z aliasing y. */
        FUSED,
        /**
         * {@code cudnnConvolutionForward} (or, transposed, {@code cudnnConvolutionBackwardData}) with β = 1 over y
         * holding z (the residual), then our {@code affine_act} for bias and activation.
         */
        UNFUSED
    }

    @Override
    public String toString() {
        return layer + "=" + candidate.algoName() + "/" + ConvMath.mathName(candidate.mathType())
                + (mode == Mode.FUSED ? "" : "+affine_act");
    }
}
