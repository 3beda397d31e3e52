package org.renalmtl.engine.cuda;

import static org.bytedeco.cuda.global.cudnn.CUDNN_ACTIVATION_IDENTITY;
import static org.bytedeco.cuda.global.cudnn.CUDNN_ACTIVATION_RELU;
import static org.bytedeco.cuda.global.cudnn.CUDNN_NOT_PROPAGATE_NAN;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.renalmtl.engine.graph.Activation;
import org.renalmtl.engine.graph.Dims3;
import org.renalmtl.engine.graph.Op;

/** The parameters of a convolution's epilogue on both cuDNN paths, on any machine. */
class ConvEpilogueTest {
    private static Op.Conv3d conv(boolean residual, Activation act) {
        return new Op.Conv3d("w", "b", Dims3.of(1), Dims3.of(1), Dims3.of(1), residual, act);
    }

    @Test
    void activationDescriptorIsNotPropagateWithTheLargestCoefficient() {
        for (Activation a : new Activation[] {Activation.RELU, Activation.NONE}) {
            ConvEpilogue e = ConvEpilogue.of(conv(false, a));
            assertTrue(e.fusable());
            assertEquals(a == Activation.RELU ? CUDNN_ACTIVATION_RELU : CUDNN_ACTIVATION_IDENTITY, e.activationMode());
            assertEquals(CUDNN_NOT_PROPAGATE_NAN, e.nanPropagation());
            assertEquals(Double.MAX_VALUE, e.coefficient());
        }
    }

    @Test
    void activationsTheFusedCallLacksRunInOurKernel() {
        for (Activation a : new Activation[] {Activation.leakyRelu(0.01f), Activation.SIGMOID, Activation.TANH}) {
            ConvEpilogue e = ConvEpilogue.of(conv(false, a));
            assertFalse(e.fusable(), a.toString());
            assertEquals(a.kind().ordinal(), e.actCode());
        }
    }

    @Test
    void bothPathsKeepTheResidual() {
        ConvEpilogue withResidual = ConvEpilogue.of(conv(true, Activation.RELU));
        // α2 of the fused call and β of the plain cudnnConvolutionForward over y holding z.
        assertEquals(1f, withResidual.residualScale());
        assertEquals(1, withResidual.actCode());
        ConvEpilogue plain = ConvEpilogue.of(conv(false, Activation.NONE));
        assertEquals(0f, plain.residualScale());
        assertEquals(0, plain.actCode());
    }
}
