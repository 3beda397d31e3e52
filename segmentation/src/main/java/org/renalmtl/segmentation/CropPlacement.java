package org.renalmtl.segmentation;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.List;
import org.renalmtl.loader.Volume;

/**
 * Puts values computed on the cropped network-axis grid into file-order volumes of the input's shape: network
 * axis a is file axis {@code transpose_forward[a]}, which is what {@code transpose_backward} undoes. Rows of
 * the crop are produced by the caller and written in parallel, contiguously when the last axis is not moved.
 */
final class CropPlacement {

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT;

    /** Produces one row of the crop. */
    @FunctionalInterface
    interface RowSource {
        /**
         * @param i   cropped-grid index of the row's first voxel
         * @param row receives {@code len} values
         * @param len the row length
         */
        void fill(long i, float[] row, int len);
    }

    /** Produces one row of the crop for several volumes at once. */
    @FunctionalInterface
    interface RowsSource {
        /**
         * @param i    cropped-grid index of the row's first voxel
         * @param rows one array per volume, each to receive {@code len} values
         * @param len  the row length
         */
        void fill(long i, float[][] rows, int len);
    }

    private CropPlacement() {
    }

    /** @return a volume of the input's shape and geometry filled with {@code value} */
    static Volume blank(CaseProperties props, String what, float value) {
        int[] f = props.fileShape();
        Volume v = Volume.allocate(f[0], f[1], f[2], props.geometry(), what);
        if (value != 0f) {
            int run = 1 << 14;
            Chunks.forEach(v.voxelCount(), run, (from, to) -> {
                float[] fill = new float[run];
                Arrays.fill(fill, value);
                for (long i = from; i < to; i += run) {
                    MemorySegment.copy(fill, 0, v.data(), F32, i * Float.BYTES, (int) Math.min(run, to - i));
                }
            });
        }
        return v;
    }

    /** Writes the crop's values into {@code out}; voxels outside the box keep their value. */
    static void place(CaseProperties props, SegmentationSettings settings, Volume out, RowSource values) {
        placeRows(props, settings, List.of(out), (i, rows, len) -> values.fill(i, rows[0], len));
    }

    /** Writes the crop's values into each of {@code outs}, rows[v] into outs[v]. */
    static void placeRows(CaseProperties props, SegmentationSettings settings, List<Volume> outs, RowsSource values) {
        int[] tf = settings.transposeForward();
        int[] crop = props.shapeAfterCropping();
        int[] start = props.bboxStart();
        Volume first = outs.getFirst();
        long[] fileStride = {(long) first.ny() * first.nx(), first.nx(), 1};
        long[] st = {fileStride[tf[0]], fileStride[tf[1]], fileStride[tf[2]]};
        long origin = start[0] * st[0] + start[1] * st[1] + start[2] * st[2];
        Chunks.forEach(crop[0], 1, (from, to) -> {
            float[][] rows = new float[outs.size()][crop[2]]; // (volumes, crop W) one row of each
            for (long i0 = from; i0 < to; i0++) {
                for (int i1 = 0; i1 < crop[1]; i1++) {
                    values.fill((i0 * crop[1] + i1) * crop[2], rows, crop[2]);
                    long dst = origin + i0 * st[0] + i1 * st[1];
                    for (int v = 0; v < outs.size(); v++) {
                        write(outs.get(v), dst, st[2], rows[v], crop[2]);
                    }
                }
            }
        });
    }

    private static void write(Volume out, long dst, long stride, float[] row, int len) {
        if (stride == 1) {
            MemorySegment.copy(row, 0, out.data(), F32, dst * Float.BYTES, len);
            return;
        }
        for (int j = 0; j < len; j++) {
            out.set(dst + j * stride, row[j]);
        }
    }
}
