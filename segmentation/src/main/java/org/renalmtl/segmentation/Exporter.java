package org.renalmtl.segmentation;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.renalmtl.loader.Volume;

/**
 * nnU-Net's {@code convert_predicted_logits_to_segmentation_with_correct_shape}: logits resampled back to the
 * cropped original grid (probabilities kwargs, order 1; the result keeps the logits' type, fp16 in nnU-Net's
 * default), labels by argmax (ties to the lowest class) or, for regions, sigmoid &gt; 0.5 written in
 * {@code regions_class_order}; then put into the uncropped box (0 outside) and transposed back.
 *
 * <p>Without probabilities the channels are resampled one at a time into a running maximum, so only two
 * channel-sized buffers exist besides the label map. With probabilities nnU-Net takes the labels from the
 * softmax (sigmoid) values instead of the logits, and so does this.
 */
public final class Exporter {

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
        int[] crop = props.shapeAfterCropping();
        int sep = NnunetMath.separateZAxis(settings.logitResampling(), settings.spacing(), props.spacing());
        int[] rco = settings.regionsClassOrder();
        long n = (long) crop[0] * crop[1] * crop[2];
        try (Arena arena = Arena.ofShared()) {
            MemorySegment labels = arena.allocate(n); // (crop D, H, W) uint8 labels on the cropped original grid
            if (!probabilities) {
                try (Grid channel = Grid.allocate(1, crop, logits.storage(), "resampled logit channel");
                     Grid best = Grid.allocate(1, crop, Grid.Storage.FLOAT32, "running maximum")) {
                    for (int c = 0; c < k; c++) {
                        Resampler.resample(logits, c, channel, 0, sep, settings.logitResampling());
                        update(channel, c, rco, best, labels);
                    }
                }
                return new SegmentationResult(uncrop(labels, props, settings, props.source() + " labels"), List.of());
            }
            try (Grid probs = Grid.allocate(k, crop, Grid.Storage.FLOAT32, "probabilities")) {
                try (Grid channel = Grid.allocate(1, crop, logits.storage(), "resampled logit channel")) {
                    for (int c = 0; c < k; c++) {
                        Resampler.resample(logits, c, channel, 0, sep, settings.logitResampling());
                        for (long i = 0; i < n; i++) {
                            probs.set(c, i, channel.get(0, i));
                        }
                    }
                }
                nonlinearity(probs, rco != null);
                try (Grid best = Grid.allocate(1, crop, Grid.Storage.FLOAT32, "running maximum")) {
                    for (int c = 0; c < k; c++) {
                        updateFromProbabilities(probs, c, rco, best, labels);
                    }
                }
                Volume lab = uncrop(labels, props, settings, props.source() + " labels");
                List<Volume> out = new ArrayList<>();
                try {
                    for (int c = 0; c < k; c++) {
                        out.add(uncropProbabilities(probs, c, rco == null && c == 0 ? 1f : 0f, props, settings));
                    }
                } catch (RuntimeException e) {
                    lab.close();
                    out.forEach(Volume::close);
                    throw e;
                }
                return new SegmentationResult(lab, out);
            }
        }
    }

    /** One logit channel into the labels: strict maximum (ties keep the lower class), or region sigmoid &gt; 0.5. */
    private static void update(Grid channel, int c, int[] rco, Grid best, MemorySegment labels) {
        long n = channel.voxels();
        IntStream.range(0, Math.toIntExact((n + 4095) / 4096)).parallel().forEach(b -> {
            long end = Math.min(n, (b + 1L) * 4096);
            for (long i = b * 4096L; i < end; i++) {
                float v = channel.get(0, i);
                if (rco != null) {
                    if (sigmoid(v) > 0.5f) {
                        labels.set(ValueLayout.JAVA_BYTE, i, (byte) rco[c]);
                    }
                } else if (c == 0 || v > best.get(0, i)) {
                    best.set(0, i, v);
                    labels.set(ValueLayout.JAVA_BYTE, i, (byte) c);
                }
            }
        });
    }

    private static void updateFromProbabilities(Grid probs, int c, int[] rco, Grid best, MemorySegment labels) {
        long n = probs.voxels();
        for (long i = 0; i < n; i++) {
            float v = probs.get(c, i);
            if (rco != null) {
                if (v > 0.5f) {
                    labels.set(ValueLayout.JAVA_BYTE, i, (byte) rco[c]);
                }
            } else if (c == 0 || v > best.get(0, i)) {
                best.set(0, i, v);
                labels.set(ValueLayout.JAVA_BYTE, i, (byte) c);
            }
        }
    }

    /** PyTorch's float32 sigmoid, 1 / (1 + exp(-x)): for tiny x it rounds to exactly 0.5, as there. */
    static float sigmoid(float x) {
        return 1f / (1f + (float) Math.exp(-x));
    }

    /** Softmax over channels (max subtracted, float32) or sigmoid per region, in place. */
    private static void nonlinearity(Grid probs, boolean regions) {
        int k = probs.channels();
        long n = probs.voxels();
        IntStream.range(0, Math.toIntExact((n + 4095) / 4096)).parallel().forEach(b -> {
            long end = Math.min(n, (b + 1L) * 4096);
            for (long i = b * 4096L; i < end; i++) {
                if (regions) {
                    for (int c = 0; c < k; c++) {
                        probs.set(c, i, sigmoid(probs.get(c, i)));
                    }
                    continue;
                }
                float max = Float.NEGATIVE_INFINITY;
                for (int c = 0; c < k; c++) {
                    max = Math.max(max, probs.get(c, i));
                }
                float sum = 0f;
                for (int c = 0; c < k; c++) {
                    float e = (float) Math.exp(probs.get(c, i) - max);
                    probs.set(c, i, e);
                    sum += e;
                }
                for (int c = 0; c < k; c++) {
                    probs.set(c, i, probs.get(c, i) / sum);
                }
            }
        });
    }

    /** The cropped labels into a zero volume of the input's shape, transposed back to file order. */
    private static Volume uncrop(MemorySegment labels, CaseProperties props, SegmentationSettings settings, String what) {
        Volume out = blank(props, what);
        place(props, settings, out, i -> labels.get(ValueLayout.JAVA_BYTE, i) & 0xff);
        return out;
    }

    private static Volume uncropProbabilities(Grid probs, int c, float outside, CaseProperties props,
                                              SegmentationSettings settings) {
        Volume out = blank(props, props.source() + " probabilities " + c);
        if (outside != 0f) {
            long n = out.voxelCount();
            for (long i = 0; i < n; i++) {
                out.set(i, outside);
            }
        }
        place(props, settings, out, i -> probs.get(c, i));
        return out;
    }

    private static Volume blank(CaseProperties props, String what) {
        int[] f = props.fileShape();
        return Volume.allocate(f[0], f[1], f[2], props.geometry(), what);
    }

    /** Voxel source by cropped-grid index. */
    @FunctionalInterface
    private interface CropValues {
        float at(long i);
    }

    /**
     * Writes cropped (network-axis) values into the file-order volume: network axis a is file axis
     * {@code transpose_forward[a]}, which is what {@code transpose_backward} undoes.
     */
    private static void place(CaseProperties props, SegmentationSettings settings, Volume out, CropValues values) {
        int[] tf = settings.transposeForward();
        int[] crop = props.shapeAfterCropping();
        int[] start = props.bboxStart();
        long[] fileStride = {(long) out.ny() * out.nx(), out.nx(), 1};
        long[] st = {fileStride[tf[0]], fileStride[tf[1]], fileStride[tf[2]]};
        long origin = start[0] * st[0] + start[1] * st[1] + start[2] * st[2];
        IntStream.range(0, crop[0]).parallel().forEach(i0 -> {
            for (int i1 = 0; i1 < crop[1]; i1++) {
                long src = ((long) i0 * crop[1] + i1) * crop[2];
                long dst = origin + i0 * st[0] + i1 * st[1];
                for (int i2 = 0; i2 < crop[2]; i2++) {
                    out.set(dst + i2 * st[2], values.at(src + i2));
                }
            }
        });
    }
}
