package org.renalmtl.segmentation;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.zip.CRC32C;
import org.renalmtl.loader.Geometry;
import org.renalmtl.loader.Volume;

/**
 * Not a test: prints a CRC-32C of every stage's output for a fixed set of small seeded cases, one line each, so
 * that a change meant to keep results bit for bit (a faster loop, another buffer) can be checked by running this
 * at both commits and diffing the output. Covers {@link Resampler} with every order, order_z and separate-z axis,
 * both storages, channel offsets and lines of length 1, and the whole pipeline with transposes, cropping, the
 * three normalisations, regions, probabilities, mirroring, both accumulators, batches and images smaller than
 * the patch.
 *
 * <p>Run: {@code java -cp ... org.renalmtl.segmentation.ResultDigests > digests.txt}.
 */
final class ResultDigests {

    private ResultDigests() {
    }

    public static void main(String[] args) {
        resamplerCases();
        pipelineCases();
    }

    private static void resamplerCases() {
        int[][][] shapes = {
            {{13, 17, 19}, {29, 11, 19}}, {{13, 17, 19}, {13, 40, 7}}, {{13, 17, 19}, {5, 17, 33}},
            {{9, 31, 30}, {23, 16, 61}}, {{1, 20, 21}, {3, 20, 9}}, {{6, 1, 12}, {6, 4, 12}}, {{7, 8, 9}, {7, 8, 9}},
            {{40, 3, 5}, {17, 6, 10}}, {{4, 66, 70}, {10, 64, 64}},
        };
        int[] orders = {0, 1, 3};
        int n = 0;
        for (int[][] sh : shapes) {
            for (int order : orders) {
                for (int orderZ : orders) {
                    for (int sep = -1; sep < 3; sep++) {
                        for (Grid.Storage in : Grid.Storage.values()) {
                            for (Grid.Storage out : Grid.Storage.values()) {
                                if (orderZ != 0 && sep < 0) {
                                    continue;
                                }
                                ResamplingKwargs kw = new ResamplingKwargs(order, orderZ, null, 3.0);
                                try (Grid src = random(2, sh[0], in, 7L * n + 1);
                                     Grid dst = Grid.allocate(2, sh[1], out, "dst")) {
                                    Resampler.resample(src, 1, dst, 1, sep, kw);
                                    System.out.printf("resample %s->%s order %d/%d sep %d %s->%s: %s%n",
                                        Arrays.toString(sh[0]), Arrays.toString(sh[1]), order, orderZ, sep, in, out,
                                        crc(dst.segment()));
                                }
                                n++;
                            }
                        }
                    }
                }
            }
        }
    }

    private static Grid random(int channels, int[] shape, Grid.Storage storage, long seed) {
        Grid g = Grid.allocate(channels, shape, storage, "src");
        SplittableRandom r = new SplittableRandom(seed);
        for (int c = 0; c < channels; c++) {
            for (long i = 0; i < g.voxels(); i++) {
                g.set(c, i, (float) (r.nextGaussian() * 3 + (i % 7)));
            }
        }
        return g;
    }

    private record Case(String name, int[] size, double[] spacing, int[] patch, double[] target, int[] tf,
                        List<ChannelNormalization> norms, int heads, int[] rco, int border) {
    }

    private static void pipelineCases() {
        List<Case> cases = List.of(
            new Case("ct-sepz", new int[] {40, 36, 12}, new double[] {0.8, 0.8, 3.0}, new int[] {8, 16, 16},
                new double[] {1.2, 0.7, 0.7}, new int[] {0, 1, 2}, List.of(ChannelNormalization.ct(10, 30, -50, 80)),
                3, null, 0),
            new Case("zscore-mask-2ch-tf", new int[] {30, 26, 20}, new double[] {1.0, 1.3, 4.0},
                new int[] {16, 8, 16}, new double[] {1.1, 2.0, 0.9}, new int[] {2, 0, 1},
                List.of(ChannelNormalization.zScore(true), ChannelNormalization.none()), 2, null, 3),
            new Case("regions-iso", new int[] {21, 25, 23}, new double[] {1, 1, 1}, new int[] {16, 16, 16},
                new double[] {0.9, 1.1, 1.3}, new int[] {1, 2, 0}, List.of(ChannelNormalization.zScore(false)),
                3, new int[] {1, 2, 3}, 2),
            new Case("small-vs-patch", new int[] {12, 30, 7}, new double[] {0.7, 0.7, 2.8}, new int[] {16, 16, 16},
                new double[] {2.8, 0.7, 0.7}, new int[] {0, 1, 2}, List.of(ChannelNormalization.ct(0, 50, -90, 200)),
                2, null, 0));
        for (Case c : cases) {
            for (boolean mirror : new boolean[] {false, true}) {
                for (Grid.Storage acc : Grid.Storage.values()) {
                    for (int batch : new int[] {1, 3}) {
                        for (boolean probs : new boolean[] {false, true}) {
                            run(c, mirror, acc, batch, probs);
                        }
                    }
                }
            }
        }
    }

    private static void run(Case c, boolean mirror, Grid.Storage acc, int batch, boolean probs) {
        int nc = c.norms().size();
        int[] inv = new int[3];
        for (int a = 0; a < 3; a++) {
            inv[c.tf()[a]] = a;
        }
        SegmentationSettings s = new SegmentationSettings(c.patch(), c.target(), c.tf(), inv, c.norms(),
            ResamplingKwargs.defaultData(), ResamplingKwargs.defaultProbabilities(), c.heads(), c.rco(),
            new int[] {0, 1, 2});
        SplittableRandom r = new SplittableRandom(c.name().hashCode());
        float[] w = new float[c.heads() * nc];
        float[] b = new float[c.heads()];
        float[] p = new float[c.heads() * c.patch()[0] * c.patch()[1] * c.patch()[2]];
        fill(w, r, 1);
        fill(b, r, 0.5);
        fill(p, r, 0.3);
        SimpleNetwork net = new SimpleNetwork(w, b, p, nc, c.heads(), c.patch());
        PredictionOptions opt = PredictionOptions.nnunetDefaults().withMirroring(mirror).withAccumulation(acc)
            .withBatchSize(batch);
        Geometry g = Geometry.axisAligned(c.spacing(), new double[] {0, 0, 0});
        List<Volume> vols = new ArrayList<>();
        for (int ch = 0; ch < nc; ch++) {
            Volume v = Volume.allocate(c.size()[2], c.size()[1], c.size()[0], g, "case " + c.name() + " " + ch);
            for (int z = c.border(); z < v.nz() - c.border(); z++) {
                for (int y = c.border(); y < v.ny() - c.border(); y++) {
                    for (int x = c.border(); x < v.nx() - c.border(); x++) {
                        v.set(z, y, x, (float) Math.rint(r.nextGaussian() * 40 + 20 * Math.sin(x + 2 * y) + ch));
                    }
                }
            }
            vols.add(v);
        }
        StringBuilder line = new StringBuilder(String.format("pipeline %s mirror %s %s batch %d probs %s:", c.name(),
            mirror, acc, batch, probs));
        try (PreprocessedCase pre = Preprocessor.preprocess(vols, s);
             Grid logits = SlidingWindow.predict(pre.data(), s, net, opt);
             SegmentationResult res = Exporter.export(logits, pre.properties(), s, probs)) {
            line.append(" pre ").append(crc(pre.data().segment())).append(" logits ").append(crc(logits.segment()))
                .append(" labels ").append(crc(res.labels().data()));
            for (Volume v : res.probabilities()) {
                line.append(" prob ").append(crc(v.data()));
            }
        } finally {
            vols.forEach(Volume::close);
        }
        System.out.println(line);
    }

    private static void fill(float[] a, SplittableRandom r, double scale) {
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) (r.nextGaussian() * scale);
        }
    }

    static String crc(MemorySegment m) {
        CRC32C c = new CRC32C();
        long chunk = 1 << 26;
        for (long off = 0; off < m.byteSize(); off += chunk) {
            c.update(m.asSlice(off, Math.min(chunk, m.byteSize() - off)).asByteBuffer());
        }
        return String.format("%08x", c.getValue());
    }
}
