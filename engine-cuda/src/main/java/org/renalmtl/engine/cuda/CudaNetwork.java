package org.renalmtl.engine.cuda;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.bytedeco.cuda.cublas.cublasContext;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.cuda.cudnn.cudnnContext;
import org.renalmtl.engine.classifier.BackboneGraph;
import org.renalmtl.engine.classifier.HeadGraph;
import org.renalmtl.engine.plan.ArenaPlanner;
import org.renalmtl.weights.ModelConfig;
import org.renalmtl.weights.Tensor;
import org.renalmtl.weights.TensorLayout;

/**
 * One network (backbone(s) + fusion + head) on the GPU for a fixed number of cases and input size,
 * the twin of the CPU's {@code CpuNetwork}: same graphs, same fusion rules, activation buffers
 * planned by the caller so the networks of one model share one arena (they run one after another).
 * The input layout change NCDHW → NDHWC (channels padded to 8) is this network's first step per
 * backbone: {@code batch} and {@code channels} fusion convert the whole input in one launch,
 * {@code separate} fusion converts phase p of every case for backbone p.
 */
final class CudaNetwork implements AutoCloseable {
    private final ModelConfig.Network net;
    private final int cases;
    private final int phases;
    private final long spatial; // D·H·W of one phase
    private final int fused;
    private final List<CudnnBackbone> backbones = new ArrayList<>();
    private final List<List<Kernels.Launch>> layouts = new ArrayList<>(); // per backbone, its input conversions
    private final CudaHead head;

    /**
     * @param config model config
     * @param net this network
     * @param tensors weights by name
     * @param cases cases per forward
     * @param size (D, H, W) of one phase
     * @param math the plan's convolution math types
     * @param weights receives this network's device weights
     */
    CudaNetwork(ModelConfig config, ModelConfig.Network net, Map<String, Tensor> tensors, int cases, int[] size,
            ConvMath.Use math, WeightBlock weights) {
        this.net = net;
        this.cases = cases;
        this.phases = config.phases().size();
        this.spatial = (long) size[0] * size[1] * size[2];
        this.fused = net.fusedFeatures(phases);
        int f = net.backbone().featureWidth();
        switch (net.fusion()) {
            case BATCH -> backbones.add(new CudnnBackbone(net.name(), BackboneGraph.build(net.backbone(),
                    TensorLayout.backbonePrefix(net, 0), tensors, size[0], size[1], size[2]), cases * phases, f,
                    math, weights));
            case CHANNELS -> backbones.add(new CudnnBackbone(net.name(), BackboneGraph.build(net.backbone(),
                    TensorLayout.backbonePrefix(net, 0), tensors, size[0], size[1], size[2]), cases, f, math,
                    weights));
            case SEPARATE -> {
                for (int p = 0; p < phases; p++) {
                    backbones.add(new CudnnBackbone(net.name() + "/" + config.phases().get(p),
                            BackboneGraph.build(net.backbone(), TensorLayout.backbonePrefix(net, p), tensors, size[0],
                                    size[1], size[2]), cases, fused, math, weights));
                }
            }
        }
        head = new CudaHead(HeadGraph.build(net, phases, tensors), cases, weights);
    }

    /** @return the network config */
    ModelConfig.Network network() {
        return net;
    }

    /** @return bytes of the fused features // (cases, fused) */
    long featureBytes() {
        return (long) cases * fused * Float.BYTES;
    }

    /** @return per task of this network, its tower's final bias */
    float[] towerBias() {
        return head.towerBias();
    }

    /** Buffers to plan: every backbone's values (backbones run in sequence), then the head region. */
    List<ArenaPlanner.Request> requests() {
        List<ArenaPlanner.Request> out = new ArrayList<>();
        int step = 0;
        for (CudnnBackbone b : backbones) {
            out.addAll(b.requests(step));
            step += b.stepCount();
        }
        out.add(new ArenaPlanner.Request("head", head.bytes(), step, step));
        return out;
    }

    /**
     * Binds to planned memory.
     *
     * @param arenaBase device address of the activation arena
     * @param offsets in {@link #requests} order
     * @param input device address of the model input // (cases, phases, D, H, W)
     * @param features device address of this network's fused features // (cases, fused)
     * @param logits device address of the model's logits // (cases, logitStride)
     * @param columns model column of each task of this network
     * @param logitStride tasks of the model
     * @param weightBase device address of the weight block
     * @param kernels the plan's kernels
     */
    void bind(long arenaBase, long[] offsets, long input, long features, long logits, int[] columns, int logitStride,
            long weightBase, Kernels kernels) {
        int k = 0;
        long f = (long) net.backbone().featureWidth() * Float.BYTES;
        for (int i = 0; i < backbones.size(); i++) {
            CudnnBackbone b = backbones.get(i);
            int n = b.arenaValues().length;
            b.bind(arenaBase, Arrays.copyOfRange(offsets, k, k + n), features + i * f, weightBase, kernels);
            k += n;
            int cpad = b.inputChannels();
            List<Kernels.Launch> ls = new ArrayList<>();
            switch (net.fusion()) {
                case BATCH -> ls.add(layout(kernels, b.inputAddress(), input, cases * phases, 1, cpad));
                case CHANNELS -> ls.add(layout(kernels, b.inputAddress(), input, cases, phases, cpad));
                case SEPARATE -> {
                    for (int c = 0; c < cases; c++) {
                        long src = input + ((long) c * phases + i) * spatial * Float.BYTES;
                        long dst = b.inputAddress() + (long) c * spatial * cpad * Float.BYTES;
                        ls.add(layout(kernels, dst, src, 1, 1, cpad));
                    }
                }
            }
            layouts.add(ls);
        }
        head.bind(arenaBase + offsets[k], features, logits, columns, logitStride, weightBase, kernels);
    }

    private Kernels.Launch layout(Kernels kernels, long out, long in, int n, int c, int cpad) {
        // Work items per kernels/README.md: a thread per voxel up to 16 channels, else 32×32 tiles.
        long work = cpad <= 16 ? n * spatial : n * ((spatial + 31) / 32) * ((cpad + 31) / 32) * 256;
        return kernels.launch("ncdhw_to_ndhwc", work).ptr(out).ptr(in).i32(n).i32(c).i32((int) spatial).i32(cpad);
    }

    /** Chooses every backbone's algorithms through the plan's search results; returns the largest workspace chosen. */
    long chooseAlgorithms(cudnnContext handle, CUstream_st stream, long scratch, long scratchBytes, FindExCache cache) {
        long most = 0;
        for (CudnnBackbone b : backbones) {
            most = Math.max(most, b.chooseAlgorithms(handle, stream, scratch, scratchBytes, cache));
        }
        return most;
    }

    /** Sets the shared convolution workspace. */
    void setWorkspace(long address, long bytes) {
        for (CudnnBackbone b : backbones) {
            b.setWorkspace(address, bytes);
        }
    }

    /** @return how each convolution of every backbone runs */
    List<ConvChoice> convolutions() {
        List<ConvChoice> out = new ArrayList<>();
        for (CudnnBackbone b : backbones) {
            out.addAll(b.convolutions());
        }
        return out;
    }

    /** Issues the whole network; allocates nothing, safe to capture. */
    void enqueue(cudnnContext dnn, cublasContext blas, CUstream_st stream) {
        for (int i = 0; i < backbones.size(); i++) {
            for (Kernels.Launch l : layouts.get(i)) {
                l.enqueue(stream);
            }
            backbones.get(i).enqueue(dnn, stream);
        }
        head.enqueue(blas, stream);
    }

    @Override
    public void close() {
        for (CudnnBackbone b : backbones) {
            b.close();
        }
        head.close();
    }
}
