package org.renalmtl.engine.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The descriptor read-back comparison, on any machine (the read-back itself is in CudnnConvTest). */
class DescriptorCheckTest {
    private static final int[] DIMS = {2, 8, 3, 4, 5}; // (N, C, D, H, W)

    @Test
    void ndhwcStridesPutChannelsInnermost() {
        assertArrayEquals(new int[] {480, 1, 160, 40, 8}, DescriptorCheck.ndhwcStrides(DIMS));
        assertArrayEquals(new int[] {16, 1, 16, 16, 16}, DescriptorCheck.ndhwcStrides(new int[] {1, 16, 1, 1, 1}));
    }

    @Test
    void equalReadBackPasses() {
        int[] strides = DescriptorCheck.ndhwcStrides(DIMS);
        assertDoesNotThrow(() -> new DescriptorCheck("mtdl/conv1", "x tensor").expect("data type", 0, 0)
                .expect("dims", DIMS, DIMS.clone()).expectStrides(DIMS, strides, strides.clone())
                .expect("coefficient", Double.MAX_VALUE, Double.MAX_VALUE).verify());
    }

    @Test
    void ncdhwStridesAreCaughtAndTheLayerNamed() {
        int[] ncdhw = {480, 60, 20, 5, 1};
        CudaException e = assertThrows(CudaException.class, () -> new DescriptorCheck("mtdl/layer2.0.conv1", "y tensor")
                .expectStrides(DIMS, DescriptorCheck.ndhwcStrides(DIMS), ncdhw).verify());
        assertTrue(e.getMessage().contains("mtdl/layer2.0.conv1") && e.getMessage().contains("y tensor")
                && e.getMessage().contains("strides [480, 60, 20, 5, 1]"), e.getMessage());
    }

    @Test
    void stridesOfAxesOfExtentOneAreIgnored() {
        int[] dims = {1, 16, 1, 1, 1}; // a bias
        assertDoesNotThrow(() -> new DescriptorCheck("conv1", "bias tensor")
                .expectStrides(dims, DescriptorCheck.ndhwcStrides(dims), new int[] {16, 1, 1, 1, 1}).verify());
    }

    @Test
    void everyMismatchIsReported() {
        CudaException e = assertThrows(CudaException.class, () -> new DescriptorCheck("layer4.1.conv2", "convolution")
                .expect("padding", new int[] {1, 1, 1}, new int[] {1, 1, 0}).expect("math type", 3, 0)
                .expect("coefficient", Double.MAX_VALUE, 0.0).verify());
        assertTrue(e.getMessage().contains("padding [1, 1, 0]") && e.getMessage().contains("math type 0 (set 3)")
                && e.getMessage().contains("coefficient 0.0"), e.getMessage());
        // The coefficient must come back exactly: one ulp less is a different descriptor.
        assertThrows(CudaException.class, () -> new DescriptorCheck("conv1", "activation")
                .expect("coefficient", Double.MAX_VALUE, Math.nextDown(Double.MAX_VALUE)).verify());
    }
}
