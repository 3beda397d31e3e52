package org.renalmtl.cli.bench;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.renalmtl.engine.BuiltinUNets;
import org.renalmtl.engine.CompiledGraph;
import org.renalmtl.engine.Device;
import org.renalmtl.engine.Graphs;
import org.renalmtl.engine.Precision;
import org.renalmtl.engine.graph.Graph;
import org.renalmtl.engine.graph.Macs;
import org.renalmtl.engine.graph.UNetBuilder;
import org.renalmtl.loader.Geometry;
import org.renalmtl.loader.Volume;
import org.renalmtl.segmentation.PatchNetwork;
import org.renalmtl.segmentation.PredictionOptions;
import org.renalmtl.segmentation.SegmentationResult;
import org.renalmtl.segmentation.SegmentationSettings;
import org.renalmtl.segmentation.Segmenter;
import org.renalmtl.weights.SegmentationConfig;
import org.renalmtl.weights.SegmentationFile;
import org.renalmtl.weights.Tensor;

/**
 * The worker side of {@code bench --config seg-…} ({@link BenchWorker}'s {@code seg} mode): compiles the
 * U-Net for {@code batch} tiles of its patch, times forwards of one call, then times whole sliding-window
 * segmentations (nnU-Net's defaults, mirroring only where the config allows, labels only) of a synthetic CT
 * cube of {@code edge}³ voxels at the network's own spacing, so no resampling is timed. Arguments:
 * <pre>
 *   DEVICE PRECISION CONFIG FILE|- BATCH EDGE WARMUP RUNS
 * </pre>
 */
final class SegMeasure {
    private SegMeasure() {}

    /** @param a the arguments above; the figures go into {@code out} */
    static void measure(List<String> a, ObjectNode out) {
        Device device = Device.parse(a.get(0));
        Precision precision = Precision.parse(a.get(1));
        String name = a.get(2);
        int batch = Integer.parseInt(a.get(4));
        int edge = Integer.parseInt(a.get(5));
        int warmup = Integer.parseInt(a.get(6));
        int runs = Integer.parseInt(a.get(7));
        SegmentationConfig config;
        CompiledGraph graph;
        long t0 = System.nanoTime();
        try (Arena weights = Arena.ofConfined()) {
            SegmentationFile file = name.equals("seg-phantom") ? SegmentationFile.load(Path.of(a.get(3))) : null;
            try (file) {
                config = file != null ? file.config() : BuiltinUNets.nnunetDefault();
                Map<String, Tensor> tensors = file != null ? file.tensors() : BuiltinUNets.seeded(config, 1, weights);
                Graph g = UNetBuilder.build(config, tensors, batch);
                out.put("flops_per_call", 2 * Macs.of(g));
                // the backend copies the weights: the file and the seeded tensors may go
                graph = Graphs.compile(g, device, precision);
            }
        }
        try (graph; Arena arena = Arena.ofConfined()) {
            out.put("plan_seconds", (System.nanoTime() - t0) / 1e9);
            out.put("device", device.toString());
            out.put("weight_bytes", graph.weightBytes());
            out.put("activation_bytes", graph.arenaBytes());
            out.putPOJO("patch", config.patchSize());
            out.putPOJO("spacing", config.spacing());
            long patchVoxels = (long) config.patchSize()[0] * config.patchSize()[1] * config.patchSize()[2];
            SplittableRandom rnd = new SplittableRandom(42);
            // (batch, C, pz, py, px)
            MemorySegment tiles = arena.allocate((long) batch * config.network().inputChannels() * patchVoxels
                    * Float.BYTES, 64);
            for (long i = 0; i < tiles.byteSize() / Float.BYTES; i++) {
                tiles.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) rnd.nextGaussian());
            }
            // (batch, K, pz, py, px)
            MemorySegment logits = arena.allocate((long) batch * config.network().numClasses() * patchVoxels
                    * Float.BYTES, 64);
            int[] calls = {0};
            PatchNetwork net = (in, n, outLogits) -> {
                calls[0]++;
                graph.run(new MemorySegment[] {in}, new MemorySegment[] {outLogits});
            };
            for (int i = 0; i < warmup; i++) {
                net.run(tiles, batch, logits);
            }
            ArrayNode patchSamples = out.putArray("patch_samples_ms");
            for (int i = 0; i < runs; i++) {
                long t = System.nanoTime();
                net.run(tiles, batch, logits);
                patchSamples.add((System.nanoTime() - t) / 1e6);
            }
            slidingWindow(config, net, calls, batch, edge, Math.min(warmup, 1), runs, out);
        }
    }

    private static void slidingWindow(SegmentationConfig config, PatchNetwork net, int[] calls, int batch, int edge,
            int warmup, int runs, ObjectNode out) {
        SegmentationSettings settings = SegmentationSettings.of(config);
        PredictionOptions options = PredictionOptions.nnunetDefaults().withBatchSize(batch);
        double[] s = config.spacing(); // (z, y, x); the volume's geometry is (x, y, z)
        Geometry g = Geometry.axisAligned(new double[] {s[2], s[1], s[0]}, new double[] {0, 0, 0});
        try (Volume v = Volume.allocate(edge, edge, edge, g, "synthetic CT cube")) {
            fillCt(v);
            for (int i = 0; i < warmup; i++) {
                segmentOnce(v, settings, net, options);
            }
            ArrayNode samples = out.putArray("sliding_window_samples_ms");
            int before = calls[0];
            for (int i = 0; i < runs; i++) {
                long t = System.nanoTime();
                segmentOnce(v, settings, net, options);
                samples.add((System.nanoTime() - t) / 1e6);
            }
            out.put("network_calls_per_segmentation", (calls[0] - before) / runs);
        }
    }

    private static void segmentOnce(Volume v, SegmentationSettings settings, PatchNetwork net, PredictionOptions options) {
        try (SegmentationResult r = Segmenter.segment(List.of(v), settings, net, options, false)) {
            if (r.labels().voxelCount() != v.voxelCount()) {
                throw new IllegalStateException("label map of " + r.labels().voxelCount() + " voxels for "
                        + v.voxelCount());
            }
        }
    }

    /** Air around a sphere of soft tissue with hashed noise: the non-zero box is the whole cube, as in a CT. */
    private static void fillCt(Volume v) {
        int n = v.nx();
        for (int z = 0; z < n; z++) {
            for (int y = 0; y < n; y++) {
                for (int x = 0; x < n; x++) {
                    double dz = (z - n / 2.0) / (0.45 * n);
                    double dy = (y - n / 2.0) / (0.45 * n);
                    double dx = (x - n / 2.0) / (0.45 * n);
                    long i = v.index(z, y, x);
                    long h = i * 0x9E3779B97F4A7C15L;
                    h ^= h >>> 29;
                    double noise = ((h >>> 11) & 0xffff) / 65535.0 - 0.5;
                    v.set(i, (float) (dx * dx + dy * dy + dz * dz > 1 ? -1000 : 140 + 60 * noise));
                }
            }
        }
    }
}
