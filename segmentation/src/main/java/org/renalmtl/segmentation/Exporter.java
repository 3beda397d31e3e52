package org.renalmtl.segmentation;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.renalmtl.loader.Volume;

/**
 * nnU-Net's {@code convert_predicted_logits_to_segmentation_with_correct_shape}: logits resampled back to the
 * cropped original grid (probabilities kwargs, order 1; the result keeps the logits' type, fp16 in nnU-Net's
 * default), labels by argmax (ties to the lowest class) or, for regions, sigmoid &gt; 0.5 written in
 * {@code regions_class_order}; then put into the uncropped box (0 outside) and transposed back.
 *
 * <p>Without probabilities the channels are resampled one at a time into a running maximum, so only two
 * channel-sized buffers in the logits' type exist besides the label map. With probabilities nnU-Net takes the
 * labels from the softmax (sigmoid) values instead of the logits, and so does this: all channels are resampled
 * (in the logits' type), then each voxel's probabilities and label are computed and written straight into the
 * output volumes ({@link CropPlacement}).
 */
public final class Exporter {

    private static final int RUN = 1 << 12; // voxels per run of the label update

    private Exporter() {
    }

    /**
     * @param logits        (K, D, H, W) network-grid logits from {@link SlidingWindow}
     * @param props         the case's properties from {@link Preprocessor}
     * @param settings      the model's settings
     * @param probabilities whether to return the probability volumes as well
     * @return label map (and probabilities) on the input grid; close when done
     */
    public static SegmentationResult export(Grid logits, CaseProperties props, SegmentationSettings settings,
                                            boolean probabilities) {
        int k = settings.numHeads();
        if (logits.channels() != k) {
            throw new IllegalArgumentException("logits have " + logits.channels() + " channels, the model " + k);
        }
        int sep = NnunetMath.separateZAxis(settings.logitResampling(), settings.spacing(), props.spacing());
        return probabilities ? withProbabilities(logits, props, settings, sep)
            : new SegmentationResult(labelsOnly(logits, props, settings, sep), List.of());
    }

    private static Volume labelsOnly(Grid logits, CaseProperties props, SegmentationSettings settings, int sep) {
        int[] crop = props.shapeAfterCropping();
        int[] rco = settings.regionsClassOrder();
        long n = (long) crop[0] * crop[1] * crop[2];
        try (Arena arena = Arena.ofShared();
             Resampler resampler = new Resampler();
             Grid channel = Grid.allocate(1, crop, logits.storage(), "resampled logit channel");
             // holds values read from `channel`, so the logits' type keeps them exactly
             Grid best = rco != null ? null : Grid.allocate(1, crop, logits.storage(), "running maximum")) {
            MemorySegment labels = arena.allocate(n); // (crop D, H, W) uint8 labels on the cropped original grid
            for (int c = 0; c < settings.numHeads(); c++) {
                resampler.run(logits, c, channel, 0, sep, settings.logitResampling());
                update(channel, c, rco, best, labels);
            }
            Volume out = CropPlacement.blank(props, props.source() + " labels", 0f);
            CropPlacement.place(props, settings, out, (i, row, len) -> {
                for (int j = 0; j < len; j++) {
                    row[j] = labels.get(ValueLayout.JAVA_BYTE, i + j) & 0xff;
                }
            });
            return out;
        }
    }

    /** One logit channel into the labels: strict maximum (ties keep the lower class), or region sigmoid &gt; 0.5. */
    private static void update(Grid channel, int c, int[] rco, Grid best, MemorySegment labels) {
        Chunks.forEach(channel.voxels(), RUN, (from, to) -> {
            float[] v = new float[RUN]; // (RUN) resampled logits
            float[] b = new float[RUN]; // (RUN) running maximum
            byte[] lab = new byte[RUN]; // (RUN) labels
            for (long i = from; i < to; i += RUN) {
                int len = (int) Math.min(RUN, to - i);
                channel.read(0, i, v, 0, len);
                MemorySegment.copy(labels, ValueLayout.JAVA_BYTE, i, lab, 0, len);
                if (rco != null) {
                    for (int j = 0; j < len; j++) {
                        if (sigmoid(v[j]) > 0.5f) {
                            lab[j] = (byte) rco[c];
                        }
                    }
                } else if (c == 0) {
                    best.write(0, i, v, 0, len);
                    Arrays.fill(lab, 0, len, (byte) 0);
                } else {
                    best.read(0, i, b, 0, len);
                    for (int j = 0; j < len; j++) {
                        if (v[j] > b[j]) {
                            b[j] = v[j];
                            lab[j] = (byte) c;
                        }
                    }
                    best.write(0, i, b, 0, len);
                }
                MemorySegment.copy(lab, 0, labels, ValueLayout.JAVA_BYTE, i, len);
            }
        });
    }

    private static SegmentationResult withProbabilities(Grid logits, CaseProperties props,
                                                        SegmentationSettings settings, int sep) {
        int k = settings.numHeads();
        int[] rco = settings.regionsClassOrder();
        int[] crop = props.shapeAfterCropping();
        try (Grid res = Grid.allocate(k, crop, logits.storage(), "resampled logits")) {
            try (Resampler resampler = new Resampler()) {
                for (int c = 0; c < k; c++) {
                    resampler.run(logits, c, res, c, sep, settings.logitResampling());
                }
            }
            List<Volume> out = new ArrayList<>();
            try {
                out.add(CropPlacement.blank(props, props.source() + " labels", 0f));
                for (int c = 0; c < k; c++) {
                    // outside the box: background certain for labels, no region
                    out.add(CropPlacement.blank(props, props.source() + " probabilities " + c,
                        rco == null && c == 0 ? 1f : 0f));
                }
                CropPlacement.placeRows(props, settings, out, (i, rows, len) -> {
                    for (int c = 0; c < k; c++) {
                        res.read(c, i, rows[c + 1], 0, len);
                    }
                    probabilitiesAndLabels(rows, len, rco);
                });
            } catch (RuntimeException e) {
                out.forEach(Volume::close);
                throw e;
            }
            return new SegmentationResult(out.getFirst(), out.subList(1, out.size()));
        }
    }

    /**
     * rows[1..K] hold one run of logits and become probabilities (softmax over channels with the maximum
     * subtracted, float32, or sigmoid per region); rows[0] receives the labels taken from them.
     */
    private static void probabilitiesAndLabels(float[][] rows, int len, int[] rco) {
        int k = rows.length - 1;
        for (int j = 0; j < len; j++) {
            if (rco != null) {
                float label = 0f;
                for (int c = 0; c < k; c++) {
                    float p = sigmoid(rows[c + 1][j]);
                    rows[c + 1][j] = p;
                    if (p > 0.5f) {
                        label = rco[c];
                    }
                }
                rows[0][j] = label;
                continue;
            }
            float max = Float.NEGATIVE_INFINITY;
            for (int c = 0; c < k; c++) {
                max = Math.max(max, rows[c + 1][j]);
            }
            float sum = 0f;
            for (int c = 0; c < k; c++) {
                float e = (float) Math.exp(rows[c + 1][j] - max);
                rows[c + 1][j] = e;
                sum += e;
            }
            float best = 0f;
            int label = 0;
            for (int c = 0; c < k; c++) {
                float p = rows[c + 1][j] / sum;
                rows[c + 1][j] = p;
                if (c == 0 || p > best) {
                    best = p;
                    label = c;
                }
            }
            rows[0][j] = label;
        }
    }

    /** PyTorch's float32 sigmoid, 1 / (1 + exp(-x)): for tiny x it rounds to exactly 0.5, as there. */
    static float sigmoid(float x) {
        return 1f / (1f + (float) Math.exp(-x));
    }
}
