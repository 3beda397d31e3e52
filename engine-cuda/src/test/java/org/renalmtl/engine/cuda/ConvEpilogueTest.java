package org.renalmtl.engine.cuda;

import static org.bytedeco.cuda.global.cudnn.CUDNN_ACTIVATION_IDENTITY;
import static org.bytedeco.cuda.global.cudnn.CUDNN_ACTIVATION_RELU;
import static org.bytedeco.cuda.global.cudnn.CUDNN_NOT_PROPAGATE_NAN;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;
import org.renalmtl.engine.classifier.Op;

/** The parameters of a convolution's epilogue on both cuDNN paths, on any machine. */
class ConvEpilogueTest {
    private static Op.Conv conv(int residual, boolean relu) {
        int[] one = {1, 1, 1};
        return new Op.Conv("layer1.0.conv2", 3, 4, residual, 8, 8, new int[] {3, 3, 3}, one, one, one, relu, false,
                new float[8 * 8 * 27], new float[8]);
    }

    @Test
    void activationDescriptorIsNotPropagateWithTheLargestCoefficient() {
        for (boolean relu : new boolean[] {true, false}) {
            ConvEpilogue e = ConvEpilogue.of(conv(-1, relu));
            assertEquals(relu ? CUDNN_ACTIVATION_RELU : CUDNN_ACTIVATION_IDENTITY, e.activationMode());
            assertEquals(CUDNN_NOT_PROPAGATE_NAN, e.nanPropagation());
            assertEquals(Double.MAX_VALUE, e.coefficient());
        }
    }

    @Test
    void bothPathsKeepTheResidual() {
        ConvEpilogue withResidual = ConvEpilogue.of(conv(4, true));
        // α2 of the fused call and β of the plain cudnnConvolutionForward over y holding z.
        assertEquals(1f, withResidual.residualScale());
        assertEquals(1, withResidual.biasActRelu());
        ConvEpilogue plain = ConvEpilogue.of(conv(-1, false));
        assertEquals(0f, plain.residualScale());
        assertEquals(0, plain.biasActRelu());
    }
}
