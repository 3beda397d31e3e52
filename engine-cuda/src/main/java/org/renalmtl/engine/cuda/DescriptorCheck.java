package org.renalmtl.engine.cuda;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Compares what a cuDNN descriptor reads back with what was set, and throws naming the layer on a
 * mismatch. A descriptor cuDNN accepted but understood differently (a layout taken as NCDHW, a
 * swapped stride) would otherwise compute silently wrong convolutions. Collects every mismatch of
 * one descriptor before throwing, so one message says all that differs.
 */
final class DescriptorCheck {
    private final String layer;
    private final String descriptor;
    private final List<String> mismatches = new ArrayList<>();

    /**
     * @param layer the layer, for the message
     * @param descriptor which of its descriptors, e.g. {@code x tensor}
     */
    DescriptorCheck(String layer, String descriptor) {
        this.layer = layer;
        this.descriptor = descriptor;
    }

    /** Expects an int field (data type, format, rank, mode) to read back as set. */
    DescriptorCheck expect(String field, int want, int got) {
        if (want != got) {
            mismatches.add(field + " " + got + " (set " + want + ")");
        }
        return this;
    }

    /** Expects a double field (the activation coefficient) to read back exactly as set. */
    DescriptorCheck expect(String field, double want, double got) {
        if (Double.compare(want, got) != 0) {
            mismatches.add(field + " " + got + " (set " + want + ")");
        }
        return this;
    }

    /** Expects an array field (dims, padding, stride, dilation) to read back as set. */
    DescriptorCheck expect(String field, int[] want, int[] got) {
        if (!Arrays.equals(want, got)) {
            mismatches.add(field + " " + Arrays.toString(got) + " (set " + Arrays.toString(want) + ")");
        }
        return this;
    }

    /**
     * Expects strides to read back as wanted on every axis longer than 1: the stride of an axis of
     * extent 1 addresses nothing, and cuDNN may normalise it.
     */
    DescriptorCheck expectStrides(int[] dims, int[] want, int[] got) {
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] > 1 && want[i] != got[i]) {
                mismatches.add("strides " + Arrays.toString(got) + " (expected " + Arrays.toString(want) + " for dims "
                        + Arrays.toString(dims) + ")");
                break;
            }
        }
        return this;
    }

    /** @throws CudaException naming the layer, the descriptor and every mismatch */
    void verify() {
        if (!mismatches.isEmpty()) {
            throw new CudaException("cuDNN: " + layer + ": the " + descriptor + " descriptor reads back differently "
                    + "from what was set: " + String.join("; ", mismatches));
        }
    }

    /**
     * @param dims (N, C, D, H, W)
     * @return the strides of the NDHWC layout in the same (N, C, D, H, W) order: channels innermost
     */
    static int[] ndhwcStrides(int[] dims) {
        int c = dims[1];
        int w = c;
        int h = w * dims[4];
        int d = h * dims[3];
        int n = d * dims[2];
        return new int[] {n, 1, d, h, w};
    }
}
