package org.renalmtl.engine.cpu;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.RecursiveAction;
import org.bytedeco.dnnl.dnnl_memory_desc;
import org.renalmtl.engine.graph.Activation;
import org.renalmtl.engine.graph.Graph;
import org.renalmtl.engine.graph.Node;
import org.renalmtl.engine.graph.Op;

/**
 * InstanceNorm3d and its activation in Java, over any layout {@link ChannelLayout} describes, writing
 * the layout the plan wants (or the input's).
 *
 * <p>Why not oneDNN: its group normalisation (one group per channel is an instance norm) has fast
 * implementations only for a plain input without post-ops, or channels-last in and out. From a
 * conv's blocked output, into a concat's channel slice, or with nnU-Net's fused leaky ReLU it runs its
 * reference loop, which made the norms a third of a small U-Net's time.
 *
 * <p>Arithmetic as {@link Norm#instanceNormNdhwc} (the CUDA kernel's twin): per (sample, channel) the
 * mean, then the mean squared deviation, both summed in double, then {@code act((x − mean) / std · γ + β)}
 * rounded to float once. The work is split into (sample, channel, depth slice) units on the common
 * fork-join pool; each unit sums in order and the units are combined in order, so the result does not
 * depend on the number of threads. Padded channels of a blocked output are written as zeros, as oneDNN's
 * blocked layouts require.
 */
final class InstanceNormKernel extends CpuKernel {
    private static final int SUM = 0;
    private static final int SQUARES = 1;
    private static final int WRITE = 2;

    private final dnnl_memory_desc out; // (N, C, D, H, W) in the wanted layout, or the input's
    private final ChannelLayout src;
    private final ChannelLayout dst;
    private final int batch;
    private final int channels;
    private final int depth;
    private final int height;
    private final int width;
    private final Op.InstanceNorm3d op;
    private final Activation act;
    private final double[] partial; // (N, C, D): one depth slice's sum, then its squared deviations
    private final double[] mean; // (N, C)
    private final double[] std; // (N, C): sqrt(var + eps)
    private final Chunk[] chunks; // the units of a phase, split evenly; reused by every run
    private MemorySegment scale; // (C), or null without affine
    private MemorySegment bias; // (C), or null
    private MemorySegment x; // the input, in layout src
    private MemorySegment y; // the output, in layout dst
    private boolean parallel; // whether other threads may touch x and y (not in a confined arena)

    /** @param wanted the output layout the plan needs, or null to write the input's */
    InstanceNormKernel(Graph graph, Node node, dnnl_memory_desc in, dnnl_memory_desc wanted) {
        super(graph, node);
        op = (Op.InstanceNorm3d) node.op();
        act = op.activation();
        out = wanted != null ? wanted : in;
        src = ChannelLayout.of(in);
        dst = ChannelLayout.of(out);
        long[] shape = graph.value(node.input(0)).shape();
        batch = (int) shape[0];
        channels = (int) shape[1];
        depth = (int) shape[2];
        height = (int) shape[3];
        width = (int) shape[4];
        partial = new double[batch * channels * depth];
        mean = new double[batch * channels];
        std = new double[batch * channels];
        int n = Math.min(partial.length, 4 * (ForkJoinPool.getCommonPoolParallelism() + 1));
        chunks = new Chunk[n];
        for (int k = 0; k < n; k++) {
            chunks[k] = new Chunk(k, n);
        }
    }

    @Override
    dnnl_memory_desc outputMd() {
        return out;
    }

    @Override
    void packConstants() {
        if (op.scale() != null) {
            scale = copyConstant(op.scale(), (long) channels * Float.BYTES);
            bias = copyConstant(op.bias(), (long) channels * Float.BYTES);
        }
    }

    @Override
    void bind(MemorySegment[] inputs, MemorySegment output, MemorySegment workspace) {
        pack();
        x = inputs[0];
        y = output;
        Thread other = Thread.ofVirtual().unstarted(() -> { });
        parallel = x.isAccessibleBy(other) && y.isAccessibleBy(other);
    }

    @Override
    void execute() {
        long spatial = (long) depth * height * width;
        run(SUM);
        for (int nc = 0; nc < mean.length; nc++) {
            double s = 0;
            for (int z = 0; z < depth; z++) {
                s += partial[nc * depth + z];
            }
            mean[nc] = s / spatial;
        }
        run(SQUARES);
        for (int nc = 0; nc < std.length; nc++) {
            double s = 0;
            for (int z = 0; z < depth; z++) {
                s += partial[nc * depth + z];
            }
            std[nc] = Math.sqrt(s / spatial + op.eps());
        }
        run(WRITE);
    }

    private void run(int phase) {
        for (Chunk c : chunks) {
            c.reinitialize();
            c.phase = phase;
        }
        if (parallel) {
            ForkJoinTask.invokeAll(chunks);
        } else {
            for (Chunk c : chunks) {
                c.compute();
            }
        }
    }

    /** @return units of a phase: (sample, channel, depth slice), over the output's padded channels when writing */
    private long units(int phase) {
        return (long) batch * (phase == WRITE ? dst.paddedChannels() : channels) * depth;
    }

    /** One unit: a depth slice of one (sample, channel). */
    private void unit(int phase, long u) {
        int z = (int) (u % depth);
        long nc = u / depth;
        if (phase == WRITE) {
            long padded = dst.paddedChannels();
            write((int) (nc / padded), (int) (nc % padded), z);
            return;
        }
        int n = (int) (nc / channels);
        int c = (int) (nc % channels);
        long base = src.slice(n, c, z);
        double m = mean[(int) nc];
        double s = 0;
        for (int h = 0; h < height; h++) {
            long row = base + h * src.sH();
            for (int w = 0; w < width; w++) {
                double v = x.getAtIndex(JAVA_FLOAT, row + w * src.sW());
                if (phase == SUM) {
                    s += v;
                } else {
                    s += (v - m) * (v - m);
                }
            }
        }
        partial[(int) u] = s;
    }

    private void write(int n, int c, int z) {
        long base = dst.slice(n, c, z);
        if (c >= channels) {
            for (int h = 0; h < height; h++) {
                for (int w = 0; w < width; w++) {
                    y.setAtIndex(JAVA_FLOAT, base + h * dst.sH() + w * dst.sW(), 0f);
                }
            }
            return;
        }
        int nc = n * channels + c;
        double m = mean[nc];
        double sd = std[nc];
        double gamma = scale == null ? 1 : scale.getAtIndex(JAVA_FLOAT, c);
        double beta = bias == null ? 0 : bias.getAtIndex(JAVA_FLOAT, c);
        long from = src.slice(n, c, z);
        for (int h = 0; h < height; h++) {
            long in = from + h * src.sH();
            long to = base + h * dst.sH();
            for (int w = 0; w < width; w++) {
                double v = x.getAtIndex(JAVA_FLOAT, in + w * src.sW());
                y.setAtIndex(JAVA_FLOAT, to + w * dst.sW(), (float) act.apply((v - m) / sd * gamma + beta));
            }
        }
    }

    /** Chunk k of n: units [k·U/n, (k+1)·U/n) of the current phase. */
    private final class Chunk extends RecursiveAction {
        private final int k;
        private final int n;
        private int phase;

        Chunk(int k, int n) {
            this.k = k;
            this.n = n;
        }

        @Override
        protected void compute() {
            long total = units(phase);
            long from = total * k / n;
            long to = total * (k + 1) / n;
            for (long u = from; u < to; u++) {
                unit(phase, u);
            }
        }
    }
}
