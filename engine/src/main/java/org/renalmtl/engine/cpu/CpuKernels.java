package org.renalmtl.engine.cpu;

import org.bytedeco.dnnl.dnnl_memory_desc;
import org.renalmtl.engine.graph.Graph;
import org.renalmtl.engine.graph.Node;
import org.renalmtl.engine.graph.Op;

/** Binds a graph node to its CPU kernel: the one place that knows which class runs which op. */
final class CpuKernels {
    private CpuKernels() {}

    /**
     * @param in the layouts its inputs are in, in the node's order
     * @param wanted the output layout the plan needs (a slice of a concat written in place, a graph
     *     output's plain layout), or null where the kernel may choose
     */
    static CpuKernel create(Graph graph, Node node, dnnl_memory_desc[] in, dnnl_memory_desc wanted) {
        return switch (node.op()) {
            case Op.Conv3d c -> new DnnlConv(graph, node, in, wanted);
            case Op.ConvTranspose3d t -> new DnnlConv(graph, node, in, wanted);
            case Op.InstanceNorm3d n -> new InstanceNormKernel(graph, node, in[0], wanted);
            case Op.BatchNorm b -> new DnnlNorm(graph, node, in[0], wanted);
            case Op.MaxPool3d m -> new DnnlPool(graph, node, in[0], wanted);
            case Op.GlobalAvgPool g -> new DnnlPool(graph, node, in[0], wanted);
            case Op.ShortcutA s -> new DnnlPool(graph, node, in[0], wanted);
            case Op.Linear l -> new DnnlLinear(graph, node);
            case Op.GateMix g -> new GateMixKernel(graph, node);
            case Op.Add a -> new DnnlAdd(graph, node, in[0], in[1], wanted);
            case Op.Slice s -> new DnnlCopy(graph, node, in, wanted, null);
            case Op.Reshape r -> new DnnlCopy(graph, node, in, wanted, null);
            case Op.Concat c -> new DnnlCopy(graph, node, in, wanted, null);
        };
    }
}
