package org.renalmtl.engine.cuda;

import static org.bytedeco.cuda.global.cudnn.CUDNN_ACTIVATION_IDENTITY;
import static org.bytedeco.cuda.global.cudnn.CUDNN_ACTIVATION_RELU;
import static org.bytedeco.cuda.global.cudnn.CUDNN_NOT_PROPAGATE_NAN;

import org.renalmtl.engine.graph.Activation;
import org.renalmtl.engine.graph.Op;

/**
 * What follows a convolution (bias, optional residual, activation), as the parameters of both ways
 * of issuing it: the fused {@code cudnnConvolutionBiasActivationForward} and the plain
 * {@code cudnnConvolutionForward} followed by our {@code affine_act}. Pure Java (compile-time cuDNN
 * constants only), so the parameters are tested on any machine.
 *
 * @param activation the conv's activation
 * @param residual whether the layer adds a residual: y holds z when the convolution starts (the graph
 *     writes such a layer in place over it, or the kernel copies z there first)
 */
record ConvEpilogue(Activation activation, boolean residual) {
    /** @return the epilogue of a graph convolution */
    static ConvEpilogue of(Op.Conv3d c) {
        return new ConvEpilogue(c.activation(), c.residual());
    }

    /**
     * @return whether the fused call can apply the activation: it fuses only RELU, and IDENTITY (with
     *     {@code IMPLICIT_PRECOMP_GEMM}); leaky ReLU, sigmoid and tanh run as {@code affine_act}
     */
    boolean fusable() {
        return activation.kind() == Activation.Kind.NONE || activation.kind() == Activation.Kind.RELU;
    }

    /** @return the activation descriptor's mode (meaningful when {@link #fusable}) */
    int activationMode() {
        return activation.kind() == Activation.Kind.RELU ? CUDNN_ACTIVATION_RELU : CUDNN_ACTIVATION_IDENTITY;
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

    /** @return {@code affine_act}'s {@code act} argument on the plain path */
    int actCode() {
        return CudaKernel.code(activation);
    }
}
