package org.renalmtl.engine.cuda;

import org.renalmtl.engine.graph.Graph;
import org.renalmtl.engine.graph.Node;
import org.renalmtl.engine.graph.Op;

/**
 * Normalisations on channels-last values: {@link Op.InstanceNorm3d} as our
 * {@code instance_norm_ndhwc} (statistics per sample and channel, affine, activation in one kernel);
 * an unfolded {@link Op.BatchNorm} as {@code affine_act} with the scale {@code γ/√(var + eps)} and
 * shift {@code β − mean·scale} computed once in double on the host.
 */
final class CudaNorm extends CudaKernel {
    private long scaleOffset = -1; // in the weight block // (C), -1 when the norm has none
    private long shiftOffset = -1; // // (C)
    private Kernels.Launch launch;

    CudaNorm(Graph graph, Node node) {
        super(graph, node);
        if (!(node.op() instanceof Op.InstanceNorm3d || node.op() instanceof Op.BatchNorm)) {
            throw new IllegalArgumentException(node + " is not a norm");
        }
    }

    @Override
    void register(WeightBlock weights) {
        switch (node.op()) {
            case Op.InstanceNorm3d n -> {
                if (n.scale() != null) {
                    scaleOffset = weights.add(graph.constant(n.scale()).toArray());
                    shiftOffset = weights.add(graph.constant(n.bias()).toArray());
                }
            }
            case Op.BatchNorm b -> {
                float[] gamma = graph.constant(b.scale()).toArray();
                float[] beta = graph.constant(b.bias()).toArray();
                float[] mean = graph.constant(b.mean()).toArray();
                float[] var = graph.constant(b.variance()).toArray();
                float[] scale = new float[gamma.length];
                float[] shift = new float[gamma.length];
                for (int c = 0; c < gamma.length; c++) {
                    double s = gamma[c] / Math.sqrt((double) var[c] + b.eps());
                    scale[c] = (float) s;
                    shift[c] = (float) (beta[c] - mean[c] * s);
                }
                scaleOffset = weights.add(scale);
                shiftOffset = weights.add(shift);
            }
            default -> throw new IllegalStateException(node.toString());
        }
    }

    @Override
    void bind(CudaContext ctx, DeviceTensor[] in, DeviceTensor out, long weights) {
        long scale = scaleOffset < 0 ? 0 : weights + scaleOffset;
        long shift = shiftOffset < 0 ? 0 : weights + shiftOffset;
        long channels = out.dim(1);
        launch = switch (node.op()) {
            case Op.InstanceNorm3d n -> ctx.kernels.instanceNormNdhwc(out.address(), in[0].address(), scale, shift,
                    fit(out.dim(0)), fit(out.spatial()), fit(channels), n.eps(), code(n.activation()),
                    n.activation().slope());
            case Op.BatchNorm b -> ctx.kernels.affineAct(out.address(), in[0].address(), scale, shift,
                    out.elements() / channels, fit(channels), code(b.activation()), b.activation().slope());
            default -> throw new IllegalStateException(node.toString());
        };
    }

    @Override
    void enqueue(CudaContext ctx) {
        launch.enqueue(ctx.stream);
    }
}
