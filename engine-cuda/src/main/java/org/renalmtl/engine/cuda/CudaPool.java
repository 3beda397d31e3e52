package org.renalmtl.engine.cuda;

import org.renalmtl.engine.graph.Graph;
import org.renalmtl.engine.graph.Node;
import org.renalmtl.engine.graph.Op;

/**
 * Pooling and subsampling on channels-last volumes, our kernels ({@code pooling.cu},
 * {@code shortcut.cu}): {@link Op.MaxPool3d} ({@code maxpool3d_ndhwc}), {@link Op.GlobalAvgPool}
 * ({@code global_avg_pool_ndhwc}, writing rows with the output's row stride, so a phase's features
 * land in their slice of the fused vector) and the type-A shortcut {@link Op.ShortcutA}
 * ({@code shortcut_a_ndhwc}).
 */
final class CudaPool extends CudaKernel {
    private Kernels.Launch launch;

    CudaPool(Graph graph, Node node) {
        super(graph, node);
    }

    @Override
    void bind(CudaContext ctx, DeviceTensor[] in, DeviceTensor out, long weights) {
        DeviceTensor x = in[0];
        int n = fit(x.dim(0));
        int c = fit(x.dim(1));
        launch = switch (node.op()) {
            case Op.MaxPool3d m -> ctx.kernels.maxpool3dNdhwc(out.address(), x.address(), n, fit(x.dim(2)), fit(x.dim(3)),
                    fit(x.dim(4)), c, fit(out.dim(2)), fit(out.dim(3)), fit(out.dim(4)), m.kernel().d(), m.kernel().h(),
                    m.kernel().w(), m.stride().d(), m.stride().h(), m.stride().w(), m.padding().d(), m.padding().h(),
                    m.padding().w());
            case Op.GlobalAvgPool g -> {
                if (out.stride(1) != 1) {
                    throw new IllegalStateException(node.name() + ": pooled rows must be unit-stride, got " + out);
                }
                yield ctx.kernels.globalAvgPoolNdhwc(out.address(), x.address(), n, fit(x.spatial()), c,
                        fit(out.stride(0)));
            }
            case Op.ShortcutA s -> ctx.kernels.shortcutANdhwc(out.address(), x.address(), n, fit(x.dim(2)),
                    fit(x.dim(3)), fit(x.dim(4)), c, fit(out.dim(2)), fit(out.dim(3)), fit(out.dim(4)), s.channels(),
                    s.stride());
            default -> throw new IllegalArgumentException(node + " is not a pooling");
        };
    }

    @Override
    void enqueue(CudaContext ctx) {
        launch.enqueue(ctx.stream);
    }
}
