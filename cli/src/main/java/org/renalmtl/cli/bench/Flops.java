package org.renalmtl.cli.bench;

import java.lang.foreign.MemorySegment;
import java.util.LinkedHashMap;
import java.util.Map;
import org.renalmtl.engine.graph.ClassifierGraphs;
import org.renalmtl.engine.graph.Macs;
import org.renalmtl.weights.ModelConfig;
import org.renalmtl.weights.Tensor;
import org.renalmtl.weights.TensorLayout;

/**
 * Floating-point operations of one forward, counted from the graph the engine runs: 2 per
 * multiply-accumulate of every convolution and Linear ({@link Macs}), as papers count them; norms,
 * pools, adds and the PLE's expert mixing are left out.
 */
public final class Flops {
    private Flops() {}

    /**
     * @param cases cases per forward
     * @param size (D, H, W) of one phase
     * @return FLOPs of one forward of every network of {@code config}
     */
    public static long of(ModelConfig config, int cases, int[] size) {
        // The graph is built for its shapes only: the tensors carry no data.
        Map<String, Tensor> shapes = new LinkedHashMap<>();
        TensorLayout.expected(config).forEach((name, shape) -> shapes.put(name, new Tensor(name, shape, MemorySegment.NULL)));
        long macs = 0;
        for (ModelConfig.Network net : config.networks()) {
            macs += Macs.of(ClassifierGraphs.build(config, net, shapes, cases, size));
        }
        return 2 * macs;
    }
}
