package org.renalmtl.segmentation;

import java.lang.foreign.MemorySegment;
import org.renalmtl.engine.CompiledGraph;
import org.renalmtl.engine.Device;
import org.renalmtl.engine.Graphs;
import org.renalmtl.engine.Precision;
import org.renalmtl.engine.graph.UNetBuilder;
import org.renalmtl.weights.SegmentationFile;

/**
 * A segmentation weight file's U-Net compiled for a batch of tiles on one device: the {@link PatchNetwork}
 * the sliding window calls. The graph ({@link UNetBuilder}) is compiled once for {@code batch} tiles of the
 * config's patch; a call with fewer tiles runs the whole batch (the unfilled tiles' logits are ignored), so
 * every call is the same compiled work and nothing is allocated per tile.
 */
public final class UNetPatchNetwork implements PatchNetwork, AutoCloseable {
    private final CompiledGraph graph;
    private final int batch;
    private final MemorySegment[] in = new MemorySegment[1]; // re-aimed per call: no allocation
    private final MemorySegment[] out = new MemorySegment[1];

    /**
     * Compiles the file's network. The backend copies the weights, so the file may be closed afterwards.
     *
     * @param file the segmentation weight file
     * @param batch tiles per call (the sliding window's batch size)
     * @param device where to run
     * @param precision convolution arithmetic on CUDA (the CPU computes in float32)
     */
    public UNetPatchNetwork(SegmentationFile file, int batch, Device device, Precision precision) {
        if (batch < 1) {
            throw new IllegalArgumentException("batch must be at least 1, got " + batch);
        }
        this.batch = batch;
        this.graph = Graphs.compile(UNetBuilder.build(file.config(), file.tensors(), batch), device, precision);
    }

    /** @return tiles per call */
    public int batch() {
        return batch;
    }

    @Override
    public void run(MemorySegment tiles, int n, MemorySegment logits) {
        if (n < 1 || n > batch) {
            throw new IllegalArgumentException(n + " tiles for a network compiled for " + batch);
        }
        in[0] = tiles;
        out[0] = logits;
        graph.run(in, out);
    }

    @Override
    public void close() {
        graph.close();
    }
}
