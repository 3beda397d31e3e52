package org.renalmtl.engine.cuda;

import static org.bytedeco.cuda.global.cudart.cudaMemcpy;
import static org.bytedeco.cuda.global.cudart.cudaMemcpyHostToDevice;

import org.bytedeco.javacpp.LongPointer;
import org.renalmtl.engine.graph.Graph;
import org.renalmtl.engine.graph.Node;
import org.renalmtl.engine.graph.Op;

/**
 * Elementwise combinations of several values: {@link Op.Add} ({@code add_act}) and a PLE gate's
 * {@link Op.GateMix} ({@code gate_mix}: softmax of the gate's logits, then the experts mixed by it,
 * which reads its experts through a device table of their addresses, written once at bind).
 */
final class CudaMix extends CudaKernel {
    private Kernels.Launch launch;
    private DeviceBuffer experts; // the gate's table of expert addresses // (E) device pointers

    CudaMix(Graph graph, Node node) {
        super(graph, node);
    }

    @Override
    void bind(CudaContext ctx, DeviceTensor[] in, DeviceTensor out, long weights) {
        for (DeviceTensor t : in) {
            if (!t.channelsLastDense()) {
                throw new IllegalStateException(node.name() + ": reads dense values only, got " + t);
            }
        }
        launch = switch (node.op()) {
            case Op.Add a -> ctx.kernels.addAct(out.address(), in[0].address(), in[1].address(), out.elements(),
                    code(a.activation()), a.activation().slope());
            case Op.GateMix g -> {
                int e = in.length - 1;
                experts = DeviceBuffer.allocate((long) e * Long.BYTES, node.name() + " expert table");
                try (LongPointer table = new LongPointer(e)) {
                    for (int i = 0; i < e; i++) {
                        table.put(i, in[1 + i].address());
                    }
                    Cuda.check(cudaMemcpy(Cuda.at(experts.address()), table, (long) e * Long.BYTES,
                            cudaMemcpyHostToDevice), node.name() + ": upload the expert table");
                }
                yield ctx.kernels.gateMix(out.address(), in[0].address(), experts.address(), fit(out.dim(0)),
                        fit(out.dim(1)), e);
            }
            default -> throw new IllegalArgumentException(node + " is not an add or a gate mix");
        };
    }

    @Override
    void enqueue(CudaContext ctx) {
        launch.enqueue(ctx.stream);
    }

    @Override
    public void close() {
        if (experts != null) {
            experts.close();
        }
    }
}
