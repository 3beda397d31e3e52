package org.renalmtl.segmentation;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.renalmtl.loader.NiftiReader;
import org.renalmtl.loader.Volume;

/**
 * The Java pipeline against the Python reference (nnunet_reference.py), stage by stage, each stage fed the
 * reference's output of the previous one so that errors do not compound, and then end to end. Cases:
 * {@code sepz} (synthetic, two channels, 4 mm slices: separate-z resampling both ways, ZScore over the filled
 * mask, zero border cropped), {@code regions} (synthetic, transpose_forward [2, 0, 1], region-based, one axis
 * padded unevenly), {@code ct} (a real CT crop, CT normalisation, cubic 3-D resampling with a half-to-even
 * target shape, probabilities).
 */
class SegmentationOracleTest {

    /**
     * Preprocessed values: absolute, in normalised units (values of order 1 to 10). Java holds the partial
     * resampling result in float32 between its separable passes where scipy keeps float64, and sums ZScore
     * statistics in another order: both are float32-rounding effects of about 1e-7 relative, so 1e-5 bounds
     * them with a wide margin while any wrong coordinate, weight or boundary would cost 1e-2 or more.
     */
    static final double PRE_TOL = 1e-5;

    @ParameterizedTest
    @ValueSource(strings = {"sepz", "regions", "ct"})
    void preprocessingMatches(String name) {
        OracleCase oc = OracleCase.load(name);
        List<Volume> vols = read(oc);
        try (PreprocessedCase pre = Preprocessor.preprocess(vols, oc.settings)) {
            CaseProperties p = pre.properties();
            assertArrayEquals(oc.prop("shape_before_cropping"), p.shapeBeforeCropping(), "shape before cropping");
            assertArrayEquals(oc.bbox(0), p.bboxStart(), "bbox start");
            assertArrayEquals(oc.bbox(1), p.bboxEnd(), "bbox end");
            assertArrayEquals(oc.prop("shape_after_cropping"), p.shapeAfterCropping(), "cropped shape");
            assertArrayEquals(oc.prop("resampled_shape"), pre.data().shape(), "resampled shape");
            float[] want = oc.f32("pre.f32");
            double err = maxAbs(pre.data(), want);
            System.out.printf("%s preprocessing: max |Java - Python| = %.3g%n", name, err);
            assertTrue(err <= PRE_TOL, name + ": preprocessed data differ by " + err);
        } finally {
            vols.forEach(Volume::close);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"sepz", "regions", "ct"})
    void gaussianIsBitExact(String name) {
        OracleCase oc = OracleCase.load(name);
        float[] want = oc.f16("gaussian.f16");
        float[] got = GaussianMap.compute(oc.settings.patchSize(), Grid.Storage.FLOAT16);
        assertArrayEquals(want, got, 0f, "fp16 Gaussian importance map");
    }

    /**
     * The sliding window on the reference's preprocessed data. The network does the same float32 operations in
     * the same order in both languages, and the fp16 accumulation follows PyTorch's rounding, so the logits are
     * expected bit for bit; the bound allows one fp16 unit (2⁻¹⁰ relative) in case a float32 product rounds
     * differently, which would still show any misplaced tile or flip as an error of order 1.
     */
    @ParameterizedTest
    @ValueSource(strings = {"sepz", "regions", "ct"})
    void slidingWindowMatchesInFp16AndFp32(String name) {
        OracleCase oc = OracleCase.load(name);
        int[] shape = oc.prop("resampled_shape");
        int c = oc.settings.channels().size();
        for (Grid.Storage acc : Grid.Storage.values()) {
            for (int batch : new int[] {1, 5}) {
                SimpleNetwork net = oc.network();
                PredictionOptions opt = PredictionOptions.nnunetDefaults().withAccumulation(acc).withBatchSize(batch);
                try (Grid data = OracleCase.grid(oc.f32("pre.f32"), c, shape, Grid.Storage.FLOAT32);
                     Grid logits = SlidingWindow.predict(data, oc.settings, net, opt)) {
                    float[] want = acc == Grid.Storage.FLOAT16 ? oc.f16("logits.f16") : oc.f32("logits32.f32");
                    Ulps u = ulps(logits, want, acc);
                    System.out.printf("%s sliding window %s batch %d: %d of %d logits differ, max %d ulp, %d calls%n",
                        name, acc, batch, u.differing, want.length, u.max, net.calls);
                    assertTrue(u.max <= 1, name + " " + acc + ": logits differ by " + u.max + " ulp");
                    assertTrue(net.maxBatch <= batch, "batch size respected");
                }
            }
        }
    }

    /**
     * Export from the reference's fp16 logits: the resampled logits (order 1, separate z where the reference
     * takes it) are float64 interpolations of identical fp16 inputs rounded to fp16; Java keeps the partial
     * result in float32 between its separable passes, which can move a value across an fp16 rounding boundary,
     * so they must agree within one fp16 unit; labels must be identical wherever the reference's two best classes are not tied at fp16
     * resolution (for regions: wherever the region's logit is not within one fp16 unit of 0).
     */
    @ParameterizedTest
    @ValueSource(strings = {"sepz", "regions", "ct"})
    void exportMatches(String name) {
        OracleCase oc = OracleCase.load(name);
        int k = oc.settings.numHeads();
        int[] crop = oc.prop("shape_after_cropping");
        float[] want = oc.f16("resampled.f16");
        try (Grid logits = OracleCase.grid(oc.f16("logits.f16"), k, oc.prop("resampled_shape"), Grid.Storage.FLOAT16);
             Grid channel = Grid.allocate(1, crop, Grid.Storage.FLOAT16, "test")) {
            double[] sp = OracleCase.doubles(oc.json.get("properties").get("spacing_t"));
            int sep = NnunetMath.separateZAxis(oc.settings.logitResampling(), oc.settings.spacing(), sp);
            int worst = 0;
            int differing = 0;
            float maxUlp = 0;
            long n = channel.voxels();
            for (int ch = 0; ch < k; ch++) {
                Resampler.resample(logits, ch, channel, 0, sep, oc.settings.logitResampling());
                for (long i = 0; i < n; i++) {
                    int d = ulpDistance(channel.get(0, i), want[(int) (ch * n + i)]);
                    differing += d != 0 ? 1 : 0;
                    worst = Math.max(worst, d);
                    maxUlp = Math.max(maxUlp, fp16Ulp(want[(int) (ch * n + i)]));
                }
            }
            System.out.printf("%s export: %d of %d resampled logits differ, max %d fp16 ulp%n", name, differing,
                n * k, worst);
            assertTrue(worst <= 1, name + ": resampled logits differ by " + worst + " fp16 ulp");
            CaseProperties props = properties(oc);
            boolean probs = oc.json.get("probabilities").asBoolean();
            try (SegmentationResult r = Exporter.export(logits, props, oc.settings, probs)) {
                int bad = labelMismatches(oc, r.labels(), oc.u8("labels.u8"), 1);
                assertEquals(0, bad, name + ": labels differ away from fp16 ties");
                if (probs) {
                    float[] wp = oc.f32("probs.f32");
                    double err = 0;
                    for (int ch = 0; ch < k; ch++) {
                        Volume v = r.probabilities().get(ch);
                        long m = v.voxelCount();
                        for (long i = 0; i < m; i++) {
                            err = Math.max(err, Math.abs(v.get(i) - wp[(int) (ch * m + i)]));
                        }
                    }
                    System.out.printf("%s export: probabilities max |diff| %.3g%n", name, err);
                    // a logit moved by one fp16 unit u moves a softmax or sigmoid output by at most u/2
                    // (|dp_i| <= 2·p_i(1-p_i)·max|dz|); plus float32 rounding of exp and the division
                    double bound = 0.5 * maxUlp + 1e-6;
                    assertTrue(err <= bound, name + ": probabilities differ by " + err + " > " + bound);
                }
            }
        }
    }

    /**
     * NIfTI in, label map out, against the reference run the same way. Preprocessing differs by float32
     * rounding (see {@link #PRE_TOL}), which can move an fp16 accumulator across a rounding boundary; so labels
     * may differ only where the reference's two best logits (or a region's logit and 0) are within 2 fp16 units
     * (2⁻⁹ relative) of each other. The count of such voxels is printed.
     */
    @ParameterizedTest
    @ValueSource(strings = {"sepz", "regions", "ct"})
    void endToEndLabelsMatch(String name) {
        OracleCase oc = OracleCase.load(name);
        List<Volume> vols = read(oc);
        try (SegmentationResult r = Segmenter.segment(vols, oc.settings, oc.network(),
            PredictionOptions.nnunetDefaults(), false)) {
            assertArrayEquals(vols.getFirst().geometry().affine(), r.labels().geometry().affine(), "original affine");
            int bad = labelMismatches(oc, r.labels(), oc.u8("labels.u8"), 2);
            assertEquals(0, bad, name + ": labels differ away from near-ties");
        } finally {
            vols.forEach(Volume::close);
        }
    }

    // ------------------------------------------------------------------ helpers

    static List<Volume> read(OracleCase oc) {
        List<Volume> vols = new ArrayList<>();
        oc.files.forEach(f -> vols.add(NiftiReader.read(f)));
        return vols;
    }

    static CaseProperties properties(OracleCase oc) {
        List<Volume> vols = read(oc);
        try (PreprocessedCase pre = Preprocessor.preprocess(vols, oc.settings)) {
            return pre.properties();
        } finally {
            vols.forEach(Volume::close);
        }
    }

    /**
     * A voxel where Java's label differs from the reference's.
     *
     * @param got Java's label
     * @param want the reference's label
     * @param cropped the voxel's index on the cropped grid of the reference's resampled logits, -1 outside it
     */
    record Difference(int got, int want, long cropped) {}

    /** @return every voxel where {@code got} differs from {@code want}, in file order, placed on the cropped grid */
    static List<Difference> differences(OracleCase oc, Volume got, int[] want) {
        int[] fs = OracleCase.ints(oc.json.get("file_shape"));
        assertArrayEquals(fs, got.shape(), "label map shape");
        int[] tf = oc.settings.transposeForward();
        int[] crop = oc.prop("shape_after_cropping");
        int[] start = oc.bbox(0);
        List<Difference> out = new ArrayList<>();
        for (int z = 0; z < fs[0]; z++) {
            for (int y = 0; y < fs[1]; y++) {
                for (int x = 0; x < fs[2]; x++) {
                    long i = got.index(z, y, x);
                    int g = Math.round(got.get(i));
                    int w = want[(int) i];
                    if (g == w) {
                        continue;
                    }
                    int[] f = {z, y, x};
                    int[] t = new int[3];
                    boolean inside = true;
                    for (int a = 0; a < 3; a++) {
                        t[a] = f[tf[a]] - start[a];
                        inside &= t[a] >= 0 && t[a] < crop[a];
                    }
                    out.add(new Difference(g, w, inside ? ((long) t[0] * crop[1] + t[1]) * crop[2] + t[2] : -1));
                }
            }
        }
        return out;
    }

    /**
     * Counts label differences that are not near-ties: at a differing voxel, the reference's logits on the
     * cropped grid must have the two labels within {@code ulps} fp16 units (argmax), or the region logit within
     * {@code ulps} units of 0.
     */
    static int labelMismatches(OracleCase oc, Volume got, int[] want, int ulps) {
        float[] res = oc.f16("resampled.f16");
        int[] crop = oc.prop("shape_after_cropping");
        long n = (long) crop[0] * crop[1] * crop[2];
        int[] rco = oc.settings.regionsClassOrder();
        List<Difference> diffs = differences(oc, got, want);
        int ties = 0;
        for (Difference d : diffs) {
            if (d.cropped() < 0) {
                continue; // counted as a real mismatch
            }
            long ci = d.cropped();
            boolean tie;
            if (rco == null) {
                float a = res[(int) (d.got() * n + ci)];
                float b = res[(int) (d.want() * n + ci)];
                tie = Math.abs(a - b) <= ulps * fp16Ulp(Math.max(Math.abs(a), Math.abs(b)));
            } else {
                tie = false;
                for (int r = 0; r < rco.length; r++) {
                    float v = res[(int) (r * n + ci)];
                    tie |= Math.abs(v) <= ulps * fp16Ulp(v);
                }
            }
            if (tie) {
                ties++;
            }
        }
        System.out.printf("%s labels: %d voxels differ, %d of them near-ties%n", oc.name, diffs.size(), ties);
        return diffs.size() - ties;
    }

    static float fp16Ulp(float v) {
        float a = Float.float16ToFloat(Float.floatToFloat16(Math.abs(v)));
        short bits = Float.floatToFloat16(a);
        return Float.float16ToFloat((short) (bits + 1)) - a;
    }

    record Ulps(int max, int differing) {
    }

    static Ulps ulps(Grid got, float[] want, Grid.Storage storage) {
        int max = 0;
        int differing = 0;
        long n = got.voxels();
        for (int c = 0; c < got.channels(); c++) {
            for (long i = 0; i < n; i++) {
                float a = got.get(c, i);
                float b = want[(int) (c * n + i)];
                int d = storage == Grid.Storage.FLOAT16 ? ulpDistance(a, b)
                    : Math.abs(Float.floatToIntBits(a) - Float.floatToIntBits(b));
                if (d != 0) {
                    differing++;
                }
                max = Math.max(max, d);
            }
        }
        return new Ulps(max, differing);
    }

    /** Distance in fp16 steps between two fp16-representable values of the same sign (else a large number). */
    static int ulpDistance(float a, float b) {
        if (a == b) {
            return 0;
        }
        short x = Float.floatToFloat16(a);
        short y = Float.floatToFloat16(b);
        if ((x < 0) != (y < 0)) {
            return (x & 0x7fff) + (y & 0x7fff);
        }
        return Math.abs((x & 0x7fff) - (y & 0x7fff));
    }

    static double maxAbs(Grid g, float[] want) {
        assertEquals(want.length, g.voxels() * g.channels(), "element count");
        double err = 0;
        long n = g.voxels();
        for (int c = 0; c < g.channels(); c++) {
            for (long i = 0; i < n; i++) {
                err = Math.max(err, Math.abs(g.get(c, i) - want[(int) (c * n + i)]));
            }
        }
        return err;
    }
}
