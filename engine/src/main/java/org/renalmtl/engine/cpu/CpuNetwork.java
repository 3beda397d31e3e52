package org.renalmtl.engine.cpu;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.renalmtl.engine.classifier.BackboneGraph;
import org.renalmtl.engine.classifier.HeadGraph;
import org.renalmtl.engine.plan.ArenaPlanner;
import org.renalmtl.weights.ModelConfig;
import org.renalmtl.weights.Tensor;
import org.renalmtl.weights.TensorLayout;

/**
 * One network (backbone(s) + fusion + head) on the CPU for a fixed number of cases and input size.
 * Its activation buffers are planned by the caller, so several networks of one model (the STDL
 * comparison) share one arena: they run one after another.
 */
public final class CpuNetwork implements AutoCloseable {
    private final ModelConfig.Network net;
    private final int cases;
    private final int phases;
    private final long phaseBytes; // one phase of one case: D·H·W floats
    private final List<DnnlBackbone> backbones = new ArrayList<>();
    private final List<BackboneGraph> graphs = new ArrayList<>();
    private final CpuHead head;
    private final int fused;
    private MemorySegment staging; // (cases, 1, D, H, W): one phase at a time, separate fusion only
    private MemorySegment features; // (cases, fused)
    private MemorySegment[] featureSlices; // per backbone: where its feature rows start
    private MemorySegment logits; // (cases, tasks of this network)

    /**
     * @param config model config
     * @param net this network
     * @param tensors weights by name
     * @param cases cases per forward
     * @param size (D, H, W) of one phase
     */
    public CpuNetwork(ModelConfig config, ModelConfig.Network net, Map<String, Tensor> tensors, int cases, int[] size) {
        this.net = net;
        this.cases = cases;
        this.phases = config.phases().size();
        this.phaseBytes = (long) size[0] * size[1] * size[2] * Float.BYTES;
        int f = net.backbone().featureWidth();
        this.fused = net.fusedFeatures(phases);
        switch (net.fusion()) {
            case BATCH -> add(BackboneGraph.build(net.backbone(), TensorLayout.backbonePrefix(net, 0), tensors,
                    size[0], size[1], size[2]), cases * phases, f);
            case CHANNELS -> add(BackboneGraph.build(net.backbone(), TensorLayout.backbonePrefix(net, 0), tensors,
                    size[0], size[1], size[2]), cases, f);
            case SEPARATE -> {
                for (int p = 0; p < phases; p++) {
                    add(BackboneGraph.build(net.backbone(), TensorLayout.backbonePrefix(net, p), tensors, size[0],
                            size[1], size[2]), cases, fused);
                }
            }
        }
        head = new CpuHead(HeadGraph.build(net, phases, tensors), cases);
    }

    private void add(BackboneGraph g, int batch, int rowStride) {
        graphs.add(g);
        backbones.add(new DnnlBackbone(g, batch, rowStride));
    }

    /** @return the network config */
    public ModelConfig.Network network() {
        return net;
    }

    /** @return multiply-accumulates of one forward (all cases) */
    public long macs() {
        long n = 0;
        int samples = net.fusion() == ModelConfig.Fusion.BATCH ? cases * phases : cases;
        for (BackboneGraph g : graphs) {
            n += g.macs() * samples;
        }
        return n;
    }

    /** @return oneDNN implementation per op of the first backbone */
    public List<String> implementations() {
        return backbones.get(0).implementations();
    }

    /** @return largest oneDNN scratchpad of any primitive */
    long scratchBytes() {
        long s = 0;
        for (DnnlBackbone b : backbones) {
            s = Math.max(s, b.scratchBytes());
        }
        return s;
    }

    /** @return bytes of reordered/folded weights held by this network */
    public long weightBytes() {
        long s = 0;
        for (DnnlBackbone b : backbones) {
            s += b.weightBytes();
        }
        return s;
    }

    /**
     * Buffers to plan: backbone values per backbone (run in sequence), staging and head. The fused
     * features are not among them: they must outlive the network (the caller reads them after all
     * networks ran), so the plan gives each network its own small features buffer.
     */
    List<ArenaPlanner.Request> requests() {
        List<ArenaPlanner.Request> out = new ArrayList<>();
        int step = 0;
        for (DnnlBackbone b : backbones) {
            out.addAll(b.requests(step));
            step += b.steps();
        }
        int headStep = step;
        out.add(new ArenaPlanner.Request("staging", net.fusion() == ModelConfig.Fusion.SEPARATE ? cases * phaseBytes : 0,
                0, headStep - 1));
        out.add(new ArenaPlanner.Request("head", head.bytes(), headStep, headStep));
        out.add(new ArenaPlanner.Request("logits", (long) cases * net.tasks().size() * Float.BYTES, headStep, headStep));
        return out;
    }

    /** Binds to planned memory: {@code offsets} in {@link #requests} order. */
    void bind(MemorySegment arena, long[] offsets, MemorySegment scratch, MemorySegment features) {
        int k = 0;
        int nb = backbones.size();
        long[][] per = new long[nb][];
        for (int i = 0; i < nb; i++) {
            int n = backbones.get(i).arenaValues().length;
            per[i] = java.util.Arrays.copyOfRange(offsets, k, k + n);
            k += n;
        }
        staging = arena.asSlice(offsets[k++], Math.max(cases * phaseBytes, 4));
        this.features = features;
        MemorySegment headRegion = arena.asSlice(offsets[k++], head.bytes());
        logits = arena.asSlice(offsets[k], (long) cases * net.tasks().size() * Float.BYTES);
        featureSlices = new MemorySegment[nb];
        long f = (long) net.backbone().featureWidth() * Float.BYTES;
        for (int i = 0; i < nb; i++) {
            featureSlices[i] = features.asSlice(i * f);
            backbones.get(i).bind(arena, per[i], scratch,
                    // The user's input is re-aimed on every forward; until then any valid address
                    // will do, so no input-sized buffer is held just to bind.
                    net.fusion() == ModelConfig.Fusion.SEPARATE ? staging : arena, featureSlices[i]);
        }
        head.bind(headRegion);
    }

    /**
     * Runs the network.
     *
     * @param input // (cases, phases, D, H, W)
     * @return the logits buffer // (cases, tasks of this network); valid until the next forward
     */
    MemorySegment forward(MemorySegment input) {
        return forward(input, false);
    }

    /**
     * Runs the network with a check after every layer.
     *
     * @return where the first NaN or infinity appears ("network 'x', phase 2 backbone, layer1.0.conv2"),
     *     or null if every output is finite
     */
    String firstNonFiniteLayer(MemorySegment input) {
        features.fill((byte) 0); // nothing left from the failed forward may be taken for this one's
        try {
            forward(input, true);
            return null;
        } catch (NonFiniteProbe.Found f) {
            return f.getMessage();
        }
    }

    private MemorySegment forward(MemorySegment input, boolean probe) {
        String name = probe ? "network '" + net.name() + "', " : null; // the normal forward allocates nothing
        if (net.fusion() == ModelConfig.Fusion.SEPARATE) {
            for (int p = 0; p < phases; p++) {
                for (int c = 0; c < cases; c++) {
                    MemorySegment.copy(input, (c * (long) phases + p) * phaseBytes, staging, c * phaseBytes, phaseBytes);
                }
                backbones.get(p).execute(staging, featureSlices[p],
                        probe ? new NonFiniteProbe(name + "phase " + p + " backbone, ") : null);
            }
        } else {
            backbones.get(0).execute(input, featureSlices[0], probe ? new NonFiniteProbe(name + "backbone, ") : null);
        }
        head.execute(features, logits, probe ? new NonFiniteProbe(name) : null);
        return logits;
    }

    /** @return bytes of this network's fused features // (cases, fused) */
    long featureBytes() {
        return (long) cases * fused * Float.BYTES;
    }

    /** @return the fused features of the last forward // (cases, fused) */
    MemorySegment features() {
        return features;
    }

    @Override
    public void close() {
        for (DnnlBackbone b : backbones) {
            b.close();
        }
        head.close();
    }
}
