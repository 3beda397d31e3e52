package org.renalmtl.segmentation;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;
import org.renalmtl.loader.Volume;
import org.renalmtl.loader.VolumeInputException;

/**
 * nnU-Net's {@code DefaultPreprocessor.run_case} for inference: transpose, crop to the non-zero box, normalise
 * on the original grid in float32, resample to the target spacing.
 *
 * <p>The read volumes are (nz, ny, nx), nnU-Net's array after its NIfTI reader's transpose, with spacing
 * (sz, sy, sx). Only one full-size copy is made (the cropped, transposed float32 channels), plus the resampled
 * result.
 */
public final class Preprocessor {

    private Preprocessor() {
    }

    /**
     * @param channels one volume per input channel, in channel order, all on one grid
     * @param settings the model's settings
     * @return the network-grid data and the properties export needs; close it when done
     * @throws VolumeInputException one line naming the file and the problem (channel count, grid mismatch, an
     *                              all-zero image)
     */
    public static PreprocessedCase preprocess(List<Volume> channels, SegmentationSettings settings) {
        if (channels.isEmpty()) {
            throw new VolumeInputException("no input image given");
        }
        Volume first = channels.getFirst();
        if (channels.size() != settings.channels().size()) {
            throw new VolumeInputException(first.source() + ": the model takes " + settings.channels().size()
                + " input channel(s), got " + channels.size() + " image(s)");
        }
        for (Volume v : channels) {
            if (!v.sameGrid(first)) {
                throw new VolumeInputException(v.source() + ": not on the grid of " + first.source() + " ("
                    + Arrays.toString(v.shape()) + " vs " + Arrays.toString(first.shape()) + ")");
            }
        }
        int[] tf = settings.transposeForward();
        int[] fileShape = first.shape();
        double[] s = first.geometry().spacing(); // (x, y, z)
        double[] fileSpacing = {s[2], s[1], s[0]};
        int[][] box;
        try {
            box = NonZeroCrop.bbox(channels);
        } catch (IllegalArgumentException e) {
            throw new VolumeInputException(first.source() + ": " + e.getMessage(), e);
        }
        int[] shapeT = new int[3];
        double[] spacingT = new double[3];
        int[] start = new int[3];
        int[] end = new int[3];
        int[] crop = new int[3];
        for (int a = 0; a < 3; a++) {
            shapeT[a] = fileShape[tf[a]];
            spacingT[a] = fileSpacing[tf[a]];
            start[a] = box[0][tf[a]];
            end[a] = box[1][tf[a]];
            crop[a] = end[a] - start[a];
        }
        int[] newShape;
        try {
            newShape = NnunetMath.newShape(crop, spacingT, settings.spacing());
        } catch (IllegalArgumentException e) {
            throw new VolumeInputException(first.source() + ": " + e.getMessage(), e);
        }
        int nc = channels.size();
        CaseProperties props = new CaseProperties(first.source(), first.geometry(), fileShape, spacingT, shapeT,
            start, end, crop, newShape);
        Grid cropped = Grid.allocate(nc, crop, Grid.Storage.FLOAT32, first.source() + " cropped");
        try {
            copyCropped(channels, tf, start, cropped);
            boolean needMask = settings.channels().stream().anyMatch(ChannelNormalization::useMaskForNorm);
            try (Arena arena = Arena.ofShared()) {
                MemorySegment mask = needMask ? NonZeroCrop.filledMask(cropped, arena) : null;
                for (int c = 0; c < nc; c++) {
                    Normaliser.normalise(cropped, c, settings.channels().get(c), mask);
                }
            }
        } catch (RuntimeException e) {
            cropped.close();
            throw e;
        }
        if (Arrays.equals(crop, newShape)) {
            return new PreprocessedCase(cropped, props);
        }
        try (cropped) {
            int sep = NnunetMath.separateZAxis(settings.dataResampling(), spacingT, settings.spacing());
            Grid data = Grid.allocate(nc, newShape, Grid.Storage.FLOAT32, first.source() + " resampled");
            try (Resampler resampler = new Resampler()) {
                for (int c = 0; c < nc; c++) {
                    resampler.run(cropped, c, data, c, sep, settings.dataResampling());
                }
            } catch (RuntimeException e) {
                data.close();
                throw e;
            }
            return new PreprocessedCase(data, props);
        }
    }

    /** Copies the box of every channel, in the transposed axis order, into {@code out}. */
    private static void copyCropped(List<Volume> channels, int[] tf, int[] start, Grid out) {
        Volume first = channels.getFirst();
        long[] fileStride = {(long) first.ny() * first.nx(), first.nx(), 1};
        long[] st = {fileStride[tf[0]], fileStride[tf[1]], fileStride[tf[2]]}; // file stride of each network axis
        long origin = start[0] * st[0] + start[1] * st[1] + start[2] * st[2];
        int[] crop = out.shape();
        for (int c = 0; c < channels.size(); c++) {
            Volume v = channels.get(c);
            int channel = c;
            IntStream.range(0, crop[0]).parallel().forEach(i0 -> {
                float[] row = new float[crop[2]]; // (crop W) one row of the box
                for (int i1 = 0; i1 < crop[1]; i1++) {
                    long src = origin + i0 * st[0] + i1 * st[1];
                    if (st[2] == 1) {
                        MemorySegment.copy(v.data(), ValueLayout.JAVA_FLOAT, src * Float.BYTES, row, 0, crop[2]);
                    } else {
                        for (int i2 = 0; i2 < crop[2]; i2++) {
                            row[i2] = v.get(src + i2 * st[2]);
                        }
                    }
                    out.write(channel, out.index(i0, i1, 0), row, 0, crop[2]);
                }
            });
        }
    }
}
