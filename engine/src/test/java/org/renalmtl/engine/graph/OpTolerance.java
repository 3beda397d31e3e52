package org.renalmtl.engine.graph;

/**
 * How far {@link Reference} may be from PyTorch's float64 result, per op: {@code ulps} units in the last
 * place of the float32 truth, plus {@code abs}. Fixed from the way each op is computed, never from a
 * measured error. The Reference rounds each output once from a double result, so half an ulp is the
 * rounding itself; {@code abs} bounds double-precision noise (ours and PyTorch's float64, summed in
 * different orders), which is relative to the size of the terms rather than of the result, so it shows
 * where a sum cancels. Anything that rounds to float32 in between (a float accumulator, a float
 * softmax) misses these bounds by orders of magnitude, and so does any wrong definition.
 */
enum OpTolerance {
    /** Convolution. */
    CONV3D(0.5, 1e-10, "double sums of ≤ 500 products of size ≤ 5 here (n·2⁻⁵³·Σ|terms| ≤ 3e-11), one rounding"),
    /** Transposed convolution. */
    CONV_TRANSPOSE3D(0.5, 1e-10, "as Conv3d: double sums of Cin·(k/s)³ products, one rounding"),
    /** Instance norm. */
    INSTANCE_NORM3D(0.5, 1e-10, "mean and variance as double sums over D·H·W (≤ 1e-13 off at 315 voxels), one rounding"),
    /** Batch norm (eval). */
    BATCH_NORM(0.5, 1e-12, "four double operations per element on values ≤ 20 (≤ 1e-14), one rounding"),
    /** Max-pooling. */
    MAX_POOL3D(0, 0, "picks an input element: bit-exact, NaN included"),
    /** Global average pooling. */
    GLOBAL_AVG_POOL(0.5, 1e-10, "a double sum over D·H·W divided once, one rounding"),
    /** Concatenation. */
    CONCAT(0, 0, "copies elements: bit-exact"),
    /** Linear. */
    LINEAR(0.5, 1e-10, "double sums of the input width's products, one rounding"),
    /** Softmax-weighted mixing of experts. */
    GATE_MIX(0.5, 1e-12, "E exponentials, a division and E products in double on values ≤ 5, one rounding"),
    /** Elementwise addition. */
    ADD(0.5, 1e-12, "a float sum is exact in double; the activation adds ≤ 1 double ulp; one rounding"),
    /** Type-A shortcut. */
    SHORTCUT_A(0, 0, "copies every s-th element and writes zeros: bit-exact"),
    /** Slice. */
    SLICE(0, 0, "copies elements: bit-exact"),
    /** Reshape. */
    RESHAPE(0, 0, "copies elements: bit-exact");

    /** Bound in units in the last place of the float32 truth. */
    final double ulps;
    /** Absolute bound on top, for double-precision noise. */
    final double abs;
    /** Why these numbers. */
    final String reason;

    OpTolerance(double ulps, double abs, String reason) {
        this.ulps = ulps;
        this.abs = abs;
        this.reason = reason;
    }

    /** @return the tolerance of an op's kind (exhaustive: a new op needs its row here) */
    static OpTolerance of(Op op) {
        return switch (op) {
            case Op.Conv3d _ -> CONV3D;
            case Op.ConvTranspose3d _ -> CONV_TRANSPOSE3D;
            case Op.InstanceNorm3d _ -> INSTANCE_NORM3D;
            case Op.BatchNorm _ -> BATCH_NORM;
            case Op.MaxPool3d _ -> MAX_POOL3D;
            case Op.GlobalAvgPool _ -> GLOBAL_AVG_POOL;
            case Op.Concat _ -> CONCAT;
            case Op.Linear _ -> LINEAR;
            case Op.GateMix _ -> GATE_MIX;
            case Op.Add _ -> ADD;
            case Op.ShortcutA _ -> SHORTCUT_A;
            case Op.Slice _ -> SLICE;
            case Op.Reshape _ -> RESHAPE;
        };
    }

    /** @return the largest allowed |ours - truth| for an element whose exact value is {@code truth} */
    double bound(double truth) {
        return ulps * Math.ulp((float) Math.abs(truth)) + abs;
    }

    @Override
    public String toString() {
        return name() + " (" + ulps + " ulp + " + abs + ": " + reason + ")";
    }
}
