package org.renalmtl.engine.cpu;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import java.lang.foreign.MemorySegment;
import org.bytedeco.dnnl.dnnl_memory_desc;
import org.renalmtl.engine.graph.Graph;
import org.renalmtl.engine.graph.Node;

/**
 * A PLE gate's mixing in plain Java: per sample, the softmax of the gate's E logits (max subtracted,
 * accumulated in float as PyTorch does) weighs the E experts' outputs. Tiny (N × E × W), so a oneDNN
 * primitive would cost more to call than to run. The CUDA backend's {@code gate_mix} kernel has the
 * same arithmetic.
 */
final class GateMixKernel extends CpuKernel {
    private final int batch;
    private final int experts;
    private final int width;
    private final dnnl_memory_desc out; // (N, W) plain
    private MemorySegment logits; // (N, E)
    private MemorySegment[] inputs; // per expert: (N, W)
    private MemorySegment output; // (N, W)

    GateMixKernel(Graph graph, Node node) {
        super(graph, node);
        long[] y = graph.value(node.output()).shape();
        batch = (int) y[0];
        width = (int) y[1];
        experts = node.arity() - 1;
        out = plain(y);
    }

    @Override
    dnnl_memory_desc outputMd() {
        return out;
    }

    @Override
    void bind(MemorySegment[] in, MemorySegment output, MemorySegment workspace) {
        logits = in[0];
        inputs = new MemorySegment[experts];
        System.arraycopy(in, 1, inputs, 0, experts);
        this.output = output;
    }

    @Override
    void execute() {
        for (int n = 0; n < batch; n++) {
            float max = Float.NEGATIVE_INFINITY;
            for (int e = 0; e < experts; e++) {
                max = Math.max(max, logits.getAtIndex(JAVA_FLOAT, (long) n * experts + e));
            }
            float sum = 0;
            for (int e = 0; e < experts; e++) {
                sum += (float) Math.exp(logits.getAtIndex(JAVA_FLOAT, (long) n * experts + e) - max);
            }
            for (int i = 0; i < width; i++) {
                float acc = 0;
                for (int e = 0; e < experts; e++) {
                    float p = (float) Math.exp(logits.getAtIndex(JAVA_FLOAT, (long) n * experts + e) - max) / sum;
                    acc += p * inputs[e].getAtIndex(JAVA_FLOAT, (long) n * width + i);
                }
                output.setAtIndex(JAVA_FLOAT, (long) n * width + i, acc);
            }
        }
    }
}
