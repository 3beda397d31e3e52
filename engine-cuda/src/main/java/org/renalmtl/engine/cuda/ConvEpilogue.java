package org.renalmtl.engine.cuda;

import static org.bytedeco.cuda.global.cudnn.CUDNN_ACTIVATION_IDENTITY;
import static org.bytedeco.cuda.global.cudnn.CUDNN_ACTIVATION_RELU;
import static org.bytedeco.cuda.global.cudnn.CUDNN_NOT_PROPAGATE_NAN;

import org.renalmtl.engine.classifier.Op;

/**
 * What follows a convolution (bias, optional residual, ReLU or identity), as the parameters of
 * both ways of issuing it: the fused {@code cudnnConvolutionBiasActivationForward} and the plain
 * {@code cudnnConvolutionForward} followed by our {@code bias_act}. Pure Java (compile-time cuDNN
 * constants only), so the parameters are tested on any machine.
 *
 * @param relu ReLU after the bias (else identity)
 * @param residual whether the layer adds a residual: the graph writes such a layer in place over
 *     it, so y already holds z when the convolution starts
 */
record ConvEpilogue(boolean relu, boolean residual) {
    /** @return the epilogue of a graph convolution */
    static ConvEpilogue of(Op.Conv c) {
        return new ConvEpilogue(c.relu(), c.residual() >= 0);
    }

    /** @return the activation descriptor's mode (cuDNN fuses only RELU, or IDENTITY with IMPLICIT_PRECOMP_GEMM) */
    int activationMode() {
        return relu ? CUDNN_ACTIVATION_RELU : CUDNN_ACTIVATION_IDENTITY;
    }

    /**
     * @return the activation descriptor's NaN option: NOT_PROPAGATE, as PyTorch and TensorFlow set
     *     it, because the fused call may refuse PROPAGATE. A NaN then leaves ReLU as 0, as it does
     *     from oneDNN's max on the CPU; {@code Model} refuses non-finite input for that reason.
     */
    int nanPropagation() {
        return CUDNN_NOT_PROPAGATE_NAN;
    }

    /** @return the activation descriptor's coefficient: the largest double, as PyTorch and TensorFlow set it */
    double coefficient() {
        return Double.MAX_VALUE;
    }

    /**
     * @return the scale of y's prior content: α2 of the fused call (z = y) and β of the plain
     *     convolution, 1 with a residual so neither way drops it
     */
    float residualScale() {
        return residual ? 1f : 0f;
    }

    /** @return {@code bias_act}'s {@code relu} argument on the plain path */
    int biasActRelu() {
        return relu ? 1 : 0;
    }
}
