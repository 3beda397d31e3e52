package org.renalmtl.segmentation;

import java.util.List;
import org.renalmtl.loader.Geometry;
import org.renalmtl.loader.Volume;

/**
 * Not a test: times each stage on a whole-CT-sized synthetic volume (default 512 × 512 × 600 at 0.8 mm, to
 * 0.78125 mm, patch 128³, 4 outputs, the simple network) and prints the heap and the off-heap sizes involved.
 * Run: {@code java -cp ... org.renalmtl.segmentation.RealSizeTiming [nx ny nz mirror batch]}.
 */
final class RealSizeTiming {

    private RealSizeTiming() {
    }

    public static void main(String[] args) {
        int nx = args.length > 0 ? Integer.parseInt(args[0]) : 512;
        int ny = args.length > 1 ? Integer.parseInt(args[1]) : 512;
        int nz = args.length > 2 ? Integer.parseInt(args[2]) : 600;
        boolean mirror = args.length > 3 && Boolean.parseBoolean(args[3]);
        int batch = args.length > 4 ? Integer.parseInt(args[4]) : 2;
        int[] patch = {128, 128, 128};
        SegmentationSettings s = new SegmentationSettings(patch, new double[] {0.78125, 0.78125, 0.78125},
            new int[] {0, 1, 2}, new int[] {0, 1, 2}, List.of(ChannelNormalization.ct(103, 73.3, -58, 302)),
            ResamplingKwargs.defaultData(), ResamplingKwargs.defaultProbabilities(), 4, null, new int[] {0, 1, 2});
        long pv = 128L * 128 * 128;
        float[] w = {1f, -0.5f, 0.25f, 0.75f};
        float[] b = {0.1f, 0.2f, -0.1f, 0f};
        float[] p = new float[(int) (4 * pv)];
        for (int i = 0; i < p.length; i++) {
            p[i] = (float) Math.sin(i * 1e-3) * 0.1f;
        }
        SimpleNetwork net = new SimpleNetwork(w, b, p, 1, 4, patch);
        Geometry g = Geometry.axisAligned(new double[] {0.8, 0.8, 0.8}, new double[] {0, 0, 0});
        try (Volume v = Volume.allocate(nz, ny, nx, g, "synthetic CT")) {
            for (long i = 0; i < v.voxelCount(); i++) {
                v.set(i, (float) (300 * Math.sin(i * 7e-4) - 200));
            }
            long t0 = System.nanoTime();
            try (PreprocessedCase pre = Preprocessor.preprocess(List.of(v), s)) {
                long t1 = System.nanoTime();
                PredictionOptions opt = PredictionOptions.nnunetDefaults().withMirroring(mirror).withBatchSize(batch);
                try (Grid logits = SlidingWindow.predict(pre.data(), s, net, opt)) {
                    long t2 = System.nanoTime();
                    try (SegmentationResult r = Exporter.export(logits, pre.properties(), s, false)) {
                        long t3 = System.nanoTime();
                        System.out.printf("input %dx%dx%d, network grid %s, %d network calls (mirroring %s, batch %d)%n",
                            nz, ny, nx, java.util.Arrays.toString(pre.data().shape()), net.calls, mirror, batch);
                        System.out.printf("preprocess %.1f s, sliding window %.1f s, export %.1f s%n",
                            (t1 - t0) / 1e9, (t2 - t1) / 1e9, (t3 - t2) / 1e9);
                        System.out.printf("heap used %d MB; input %d MB, data %d MB, logits %d MB, labels %d MB%n",
                            (Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory()) >> 20,
                            v.voxelCount() * 4 >> 20, pre.data().voxels() * 4 >> 20,
                            logits.voxels() * logits.channels() * 2 >> 20, r.labels().voxelCount() * 4 >> 20);
                    }
                }
            }
        }
    }
}
