package org.renalmtl.segmentation;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;
import org.renalmtl.loader.Geometry;
import org.renalmtl.loader.Volume;

/**
 * Not a test: times preprocessing, the sliding window (without the network's own time) and export separately on
 * a whole-CT-sized synthetic volume with a network that costs almost nothing, and prints each stage's peak RSS
 * (VmHWM, reset before each stage) and a CRC-32C of its output, so a faster version can be checked to give the
 * same bits. The volume is int16-like HU values: air (-1000) around an elliptic body of tissue with noise, so
 * the non-zero box is the whole volume, as in a real CT.
 *
 * <p>Run (launcher JVM flags): {@code java -XX:+UseSerialGC -Xms32m -XX:TrimNativeHeapInterval=500
 * --enable-native-access=ALL-UNNAMED -cp ... org.renalmtl.segmentation.RealSizeTiming [key=value...]} with keys
 * {@code size=nx,ny,nz} (512,512,300), {@code spacing=sx,sy,sz} in mm, file order (0.8,0.8,2.5),
 * {@code target=z,y,x} network spacing (1,0.78125,0.78125), {@code heads=K} (4), {@code probabilities=true|false}
 * (false), {@code mirror=true|false} (false), {@code batch=n} (2), {@code fp32=true|false} (false: fp16
 * accumulation as nnU-Net).
 */
final class RealSizeTiming {

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT;

    private RealSizeTiming() {
    }

    public static void main(String[] args) {
        int[] size = ints(arg(args, "size", "512,512,300"));
        double[] spacing = doubles(arg(args, "spacing", "0.8,0.8,2.5"));
        double[] target = doubles(arg(args, "target", "1,0.78125,0.78125"));
        int heads = Integer.parseInt(arg(args, "heads", "4"));
        boolean probabilities = Boolean.parseBoolean(arg(args, "probabilities", "false"));
        boolean mirror = Boolean.parseBoolean(arg(args, "mirror", "false"));
        int batch = Integer.parseInt(arg(args, "batch", "2"));
        boolean fp32 = Boolean.parseBoolean(arg(args, "fp32", "false"));
        int[] patch = {128, 128, 128};
        SegmentationSettings s = new SegmentationSettings(patch, target, new int[] {0, 1, 2}, new int[] {0, 1, 2},
            List.of(ChannelNormalization.ct(103, 73.3, -58, 302)), ResamplingKwargs.defaultData(),
            ResamplingKwargs.defaultProbabilities(), heads, null, new int[] {0, 1, 2});
        PredictionOptions opt = PredictionOptions.nnunetDefaults().withMirroring(mirror).withBatchSize(batch)
            .withAccumulation(fp32 ? Grid.Storage.FLOAT32 : Grid.Storage.FLOAT16);
        AffineNetwork net = new AffineNetwork(heads, patch);
        Geometry g = Geometry.axisAligned(spacing, new double[] {0, 0, 0});
        System.out.printf("input %s (x,y,z) at %s mm, target %s mm (z,y,x), %d heads, probabilities %s, mirroring %s,"
                + " batch %d, %s accumulation, %d CPUs%n", Arrays.toString(size), Arrays.toString(spacing),
            Arrays.toString(target), heads, probabilities, mirror, batch, opt.accumulation(),
            Runtime.getRuntime().availableProcessors());
        try (Volume v = Volume.allocate(size[2], size[1], size[0], g, "synthetic CT")) {
            fillCt(v);
            System.out.printf("after input: RSS %d MB, input %d MB%n", rssMb("VmRSS"), v.voxelCount() * 4 >> 20);
            CaseProperties props;
            Grid logits;
            Stage stage = new Stage();
            try (PreprocessedCase pre = Preprocessor.preprocess(List.of(v), s)) {
                stage.end();
                props = pre.properties();
                stage.report("preprocess", 0, "network grid " + Arrays.toString(pre.data().shape()) + ", crc "
                    + ResultDigests.crc(pre.data().segment()));
                stage = new Stage();
                long n0 = net.nanos;
                logits = SlidingWindow.predict(pre.data(), s, net, opt);
                stage.end();
                long network = net.nanos - n0;
                stage.report("sliding window", network, String.format("without the network's %.1f s wall, %d calls,"
                    + " crc %s", network / 1e9, net.calls, ResultDigests.crc(logits.segment())));
            }
            // as Segmenter does: the network-grid image is freed before export
            stage = new Stage();
            try (logits; SegmentationResult r = Exporter.export(logits, props, s, probabilities)) {
                stage.end();
                StringBuilder crcs = new StringBuilder("labels crc " + ResultDigests.crc(r.labels().data()));
                for (Volume p : r.probabilities()) {
                    crcs.append(", probabilities crc ").append(ResultDigests.crc(p.data()));
                }
                stage.report("export", 0, crcs.toString());
            }
        }
    }

    /** One stage's wall time, process CPU time (all threads; the machine may be shared) and peak RSS. */
    private static final class Stage {
        private final long wall0 = System.nanoTime();
        private final long cpu0;
        private long wall;
        private long cpu;
        private long peak;

        Stage() {
            resetPeak();
            cpu0 = cpuNanos();
        }

        void end() {
            wall = System.nanoTime() - wall0;
            cpu = cpuNanos() - cpu0;
            peak = rssMb("VmHWM");
        }

        /** @param minus wall nanoseconds not to count (the network's) */
        void report(String name, long minus, String detail) {
            System.out.printf("%-15s %7.2f s, CPU %7.2f s, peak RSS %6d MB (%s)%n", name, (wall - minus) / 1e9,
                cpu / 1e9, peak, detail);
        }
    }

    /** Air around an elliptic body, 40 HU ± 100 of hashed noise inside, rounded to integers. */
    private static void fillCt(Volume v) {
        int nz = v.nz();
        int ny = v.ny();
        int nx = v.nx();
        IntStream.range(0, nz).parallel().forEach(z -> {
            for (int y = 0; y < ny; y++) {
                double dy = (y - ny / 2.0) / (0.4 * ny);
                for (int x = 0; x < nx; x++) {
                    double dx = (x - nx / 2.0) / (0.45 * nx);
                    long i = v.index(z, y, x);
                    long h = i * 0x9E3779B97F4A7C15L;
                    h ^= h >>> 29;
                    double noise = ((h >>> 11) & 0xffff) / 65535.0 - 0.5;
                    double hu = dx * dx + dy * dy > 1 ? -1000 : 40 + 200 * noise + 80 * Math.sin(z * 0.05 + x * 0.02);
                    v.set(i, (float) Math.rint(hu));
                }
            }
        });
    }

    /** @return CPU time of the whole process, all threads (the machine may be shared, so wall time varies) */
    private static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
            .getProcessCpuTime();
    }

    /** Resets VmHWM to the current RSS, so the next reading is the peak of the next stage. */
    private static void resetPeak() {
        try {
            Files.writeString(Path.of("/proc/self/clear_refs"), "5");
        } catch (IOException e) {
            throw new IllegalStateException("cannot reset the peak RSS: " + e.getMessage(), e);
        }
    }

    private static long rssMb(String key) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith(key + ":")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) >> 10;
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        throw new IllegalStateException(key + " not in /proc/self/status");
    }

    private static String arg(String[] args, String key, String dflt) {
        for (String a : args) {
            if (a.startsWith(key + "=")) {
                return a.substring(key.length() + 1);
            }
        }
        return dflt;
    }

    private static int[] ints(String s) {
        return Arrays.stream(s.split(",")).mapToInt(Integer::parseInt).toArray();
    }

    private static double[] doubles(String s) {
        return Arrays.stream(s.split(",")).mapToDouble(Double::parseDouble).toArray();
    }

    /** logits[k] = (k + 1)·x[0]·(-1)^k + k/4 at every voxel: a cheap, input-dependent stand-in for a network. */
    private static final class AffineNetwork implements PatchNetwork {
        private final int heads;
        private final long voxels; // pz·py·px
        long nanos;
        int calls;

        AffineNetwork(int heads, int[] patch) {
            this.heads = heads;
            this.voxels = (long) patch[0] * patch[1] * patch[2];
        }

        @Override
        public void run(MemorySegment tiles, int n, MemorySegment logits) {
            long t0 = System.nanoTime();
            calls++;
            IntStream.range(0, n * heads).parallel().forEach(tk -> {
                int t = tk / heads;
                int k = tk % heads;
                float a = (k + 1) * ((k & 1) == 0 ? 1f : -1f);
                float b = k / 4f;
                long in = t * voxels; // channel 0 of tile t (one input channel)
                long out = (long) tk * voxels;
                for (long i = 0; i < voxels; i++) {
                    logits.setAtIndex(F32, out + i, a * tiles.getAtIndex(F32, in + i) + b);
                }
            });
            nanos += System.nanoTime() - t0;
        }
    }
}
