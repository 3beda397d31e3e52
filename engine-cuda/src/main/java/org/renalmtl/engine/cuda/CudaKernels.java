package org.renalmtl.engine.cuda;

import org.renalmtl.engine.graph.Graph;
import org.renalmtl.engine.graph.Node;
import org.renalmtl.engine.graph.Op;

/** Which CUDA kernel runs which op: the backend's one switch over the IR, the twin of {@code CpuKernels}. */
final class CudaKernels {
    private CudaKernels() {}

    /**
     * @param sliced per node input, whether it already lies in its slice of a concat's output
     * @return the kernel for {@code node}
     */
    static CudaKernel create(Graph graph, Node node, boolean[] sliced) {
        return switch (node.op()) {
            case Op.Conv3d c -> new CudnnConv(graph, node);
            case Op.ConvTranspose3d t -> new CudnnConvTranspose(graph, node);
            case Op.InstanceNorm3d n -> new CudaNorm(graph, node);
            case Op.BatchNorm b -> new CudaNorm(graph, node);
            case Op.MaxPool3d m -> new CudaPool(graph, node);
            case Op.GlobalAvgPool g -> new CudaPool(graph, node);
            case Op.ShortcutA s -> new CudaPool(graph, node);
            case Op.Linear l -> new CublasLinear(graph, node);
            case Op.Add a -> new CudaMix(graph, node);
            case Op.GateMix g -> new CudaMix(graph, node);
            case Op.Concat c -> new CudaCopy(graph, node, sliced);
            case Op.Slice s -> new CudaCopy(graph, node, sliced);
            case Op.Reshape r -> new CudaCopy(graph, node, sliced);
        };
    }
}
