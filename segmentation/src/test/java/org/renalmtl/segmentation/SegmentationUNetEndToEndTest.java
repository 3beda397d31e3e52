package org.renalmtl.segmentation;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.renalmtl.engine.Device;
import org.renalmtl.engine.Precision;
import org.renalmtl.loader.Volume;

/**
 * Issue 11's end-to-end oracle with a real network: a seeded nnU-Net v2 model folder, exported by
 * {@code export.py --nnunet}, loaded with {@link SegmentationModel} (CPU, FP32, nnU-Net's default options) and run on
 * the real CT crop, against the Python reference pipeline running the PyTorch U-Net from the folder's checkpoint
 * (src/test/python/make_unet_fixtures.py). Cases: {@code unet_plain} (PlainConvUNet, 4 labels, 2 × 2 × 2 tiles,
 * mirroring over axes 1 and 2) and {@code unet_resenc_regions} (ResidualEncoderUNet, 3 nested regions, z padded,
 * 1 × 2 × 2 tiles, mirroring over axis 0).
 *
 * <p>Why labels may differ at all: the two networks agree to about 1e-5 relative (different convolution
 * algorithms, summation orders; engine UNetPyTorchTest), preprocessing to about 1e-6 (SegmentationOracleTest), and
 * both accumulate the tiles in fp16 as nnU-Net does. A float32 difference that small moves an fp16 accumulator across
 * a rounding boundary now and then, and the one fp16 unit (2⁻¹¹..2⁻¹⁰ relative) that this costs survives the
 * remaining fp16 additions, the division by the Gaussian weights and the linear resampling as a few fp16 units of
 * the accumulated magnitude. The accumulator holds a Gaussian-weighted sum of the logits of up to 8 tiles, so its
 * unit is set by the largest sliding-window logit magnitude {@code L} of the case (written by the reference), not by the voxel's own logits (those can be
 * near 0 by cancellation, which is exactly where a region decides). Hence the near-tie margin is absolute:
 * {@link #TIE_UNITS} fp16 units at {@code L}. Measured (CPU, FP32): at most about 5 units
 * (a region probability 0.005 apart), and the few differing labels sit within 0.03 units of a tie.
 */
class SegmentationUNetEndToEndTest {

    /** fp16 units at the case's largest logit within which a label difference counts as a near-tie. */
    static final int TIE_UNITS = 8;

    /** At most this fraction of the voxels (about 10 of the crop's 107520) may differ at all, near-ties or not. */
    static final double MAX_DIFFERING_FRACTION = 1e-4;

    /**
     * NIfTI in, label map and probabilities out, through SegmentationModel: identical labels except at a few
     * near-ties, and probabilities within what {@link #TIE_UNITS} fp16 units of logit can move them (a softmax or
     * sigmoid output moves by at most half the largest logit change), which bounds the logits everywhere.
     */
    @ParameterizedTest
    @ValueSource(strings = {"unet_plain", "unet_resenc_regions"})
    void labelsMatchPyTorchExceptNearTies(String name) {
        OracleCase oc = OracleCase.load(name);
        Path h5 = Path.of(oc.json.get("model").asText());
        List<Volume> vols = SegmentationOracleTest.read(oc);
        long t0 = System.nanoTime();
        try (SegmentationModel model = SegmentationModel.load(h5, Device.CPU, Precision.FP32,
                 PredictionOptions.nnunetDefaults())) {
            settingsAgree(oc.settings, SegmentationSettings.of(model.config()));
            try (SegmentationResult r = model.segment(vols, true)) {
                double secs = (System.nanoTime() - t0) / 1e9;
                assertArrayEquals(vols.getFirst().geometry().affine(), r.labels().geometry().affine(), "affine");
                int[] want = oc.u8("labels.u8");
                int[] counts = new int[256];
                for (int w : want) {
                    counts[w]++;
                }
                for (int label = 0; label <= 3; label++) {
                    assertTrue(counts[label] > want.length / 50, name + ": label " + label + " occurs in only "
                        + counts[label] + " voxels: the fixture network is too close to constant");
                }
                Mismatches m = mismatches(oc, r.labels(), want);
                System.out.printf("%s labels: %d of %d voxels differ (largest reference gap %.4g = %.2f fp16 units "
                    + "at the largest logit), %d beyond %d units; model load + segment %.1f s%n", name, m.differing,
                    want.length, m.largestGap, m.largestGap / m.unit, m.beyond, TIE_UNITS, secs);
                float[] wp = oc.f32("probs.f32");
                double perr = 0;
                int pdiff = 0;
                for (int ch = 0; ch < oc.settings.numHeads(); ch++) {
                    Volume v = r.probabilities().get(ch);
                    long k = v.voxelCount();
                    for (long i = 0; i < k; i++) {
                        double d = Math.abs(v.get(i) - wp[(int) (ch * k + i)]);
                        perr = Math.max(perr, d);
                        pdiff += d > 1e-6 ? 1 : 0;
                    }
                }
                double pbound = 0.5 * TIE_UNITS * m.unit + 1e-6;
                System.out.printf("%s probabilities: max |diff| %.3g (%d of %d beyond 1e-6), bound %.3g%n", name, perr,
                    pdiff, wp.length, pbound);
                assertEquals(0, m.beyond, name + ": labels differ away from near-ties");
                assertTrue(perr <= pbound, name + ": probabilities differ by " + perr);
                assertTrue(m.differing <= MAX_DIFFERING_FRACTION * want.length,
                    name + ": " + m.differing + " near-tie voxels differ");
            }
        } finally {
            vols.forEach(Volume::close);
        }
    }

    /** What export.py wrote is what the reference read from the model folder itself. */
    static void settingsAgree(SegmentationSettings want, SegmentationSettings got) {
        assertArrayEquals(want.patchSize(), got.patchSize(), "patch_size");
        assertArrayEquals(want.spacing(), got.spacing(), "spacing");
        assertArrayEquals(want.transposeForward(), got.transposeForward(), "transpose_forward");
        assertArrayEquals(want.mirroringAxes(), got.mirroringAxes(), "mirroring axes");
        assertEquals(want.numHeads(), got.numHeads(), "heads");
        if (want.regionsClassOrder() == null) {
            assertNull(got.regionsClassOrder(), "regions_class_order");
        } else {
            assertArrayEquals(want.regionsClassOrder(), got.regionsClassOrder(), "regions_class_order");
        }
        assertEquals(want.channels(), got.channels(), "channel normalisation");
        assertEquals(want.dataResampling(), got.dataResampling(), "data resampling");
        assertEquals(want.logitResampling(), got.logitResampling(), "logit resampling");
    }

    record Mismatches(int differing, int beyond, double largestGap, float unit) {
    }

    /**
     * Differing voxels, and those of them that are not near-ties. The gap of a differing voxel is taken from the
     * reference's logits resampled to the cropped grid: for labels, between the reference's label and Java's;
     * for regions, the smallest |logit| over the regions (the decision that moved).
     */
    static Mismatches mismatches(OracleCase oc, Volume got, int[] want) {
        float[] res = oc.f16("resampled.f16");
        float unit = fp16UnitAt((float) oc.json.get("max_abs_logit").asDouble());
        int[] crop = oc.prop("shape_after_cropping");
        long n = (long) crop[0] * crop[1] * crop[2];
        int[] rco = oc.settings.regionsClassOrder();
        List<SegmentationOracleTest.Difference> diffs = SegmentationOracleTest.differences(oc, got, want);
        int beyond = 0;
        double largest = 0;
        for (SegmentationOracleTest.Difference d : diffs) {
            double gap = Double.POSITIVE_INFINITY;
            if (d.cropped() >= 0) {
                long ci = d.cropped();
                if (rco == null) {
                    gap = Math.abs(res[(int) (d.got() * n + ci)] - res[(int) (d.want() * n + ci)]);
                } else {
                    for (int r = 0; r < rco.length; r++) {
                        gap = Math.min(gap, Math.abs(res[(int) (r * n + ci)]));
                    }
                }
            }
            largest = Math.max(largest, gap);
            beyond += gap > TIE_UNITS * unit ? 1 : 0;
        }
        return new Mismatches(diffs.size(), beyond, largest, unit);
    }

    /** The spacing of fp16 values at magnitude {@code v}. */
    static float fp16UnitAt(float v) {
        return SegmentationOracleTest.fp16Ulp(v);
    }
}
