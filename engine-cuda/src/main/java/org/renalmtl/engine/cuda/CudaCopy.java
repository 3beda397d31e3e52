package org.renalmtl.engine.cuda;

import java.util.ArrayList;
import java.util.List;
import org.renalmtl.engine.graph.Graph;
import org.renalmtl.engine.graph.Node;
import org.renalmtl.engine.graph.Op;

/**
 * The data-movement nodes the schedule could not make views of, each one or more {@code copy_nd}
 * launches: a {@link Op.Concat} copies every input not already written into its slice of the output;
 * a {@link Op.Slice} copies its range; a {@link Op.Reshape} copies element by element in row-major
 * order of both shapes (the bytes differ when either side is a channels-last volume). Also the copy
 * of a graph input into channels-last and of a graph output out of it ({@link #copy}).
 */
final class CudaCopy extends CudaKernel {
    private final boolean[] sliced; // per input of a concat: already in its slice (no copy); empty otherwise
    private final List<Kernels.Launch> launches = new ArrayList<>();

    /**
     * @param sliced per node input, whether the schedule placed it in its slice of a concat's output
     */
    CudaCopy(Graph graph, Node node, boolean[] sliced) {
        super(graph, node);
        this.sliced = sliced.clone();
    }

    @Override
    void bind(CudaContext ctx, DeviceTensor[] in, DeviceTensor out, long weights) {
        switch (node.op()) {
            case Op.Concat c -> {
                long channel = 0;
                for (int j = 0; j < in.length; j++) {
                    if (!sliced[j]) {
                        DeviceTensor slot = new DeviceTensor(out.address() + channel * out.stride(1) * Float.BYTES,
                                in[j].dims(), out.strides());
                        launches.add(copy(ctx.kernels, slot, in[j]));
                    }
                    channel += in[j].dim(1);
                }
            }
            case Op.Slice s -> {
                DeviceTensor from = new DeviceTensor(in[0].address() + s.start() * in[0].stride(s.axis()) * Float.BYTES,
                        out.dims(), in[0].strides());
                launches.add(copy(ctx.kernels, out, from));
            }
            case Op.Reshape r -> launches.add(copy(ctx.kernels, out, in[0]));
            default -> throw new IllegalArgumentException(node + " is not a copy");
        }
    }

    @Override
    void enqueue(CudaContext ctx) {
        for (Kernels.Launch l : launches) {
            l.enqueue(ctx.stream);
        }
    }

    /**
     * A {@code copy_nd} launch that writes the elements of {@code from}, in row-major order of its
     * dims, to the same row-major positions of {@code to}'s dims: a layout change or a strided copy when
     * the dims agree, a reshape when they differ (same element count).
     */
    static Kernels.Launch copy(Kernels kernels, DeviceTensor to, DeviceTensor from) {
        if (to.elements() != from.elements()) {
            throw new IllegalArgumentException("copy of " + from + " to " + to + " changes the element count");
        }
        int[] o = five(to.dims());
        long[] os = fiveStrides(to.dims(), to.strides());
        int[] i = five(from.dims());
        long[] is = fiveStrides(from.dims(), from.strides());
        return kernels.copyNd(to.address(), from.address(), to.elements(), o[0], o[1], o[2], o[3], o[4], os[0], os[1],
                os[2], os[3], os[4], i[0], i[1], i[2], i[3], i[4], is[0], is[1], is[2], is[3], is[4]);
    }

    /** @return the dims padded to five with leading 1s */
    private static int[] five(long[] dims) {
        if (dims.length > 5) {
            throw new IllegalArgumentException("copy_nd takes at most 5 axes, got " + dims.length);
        }
        int[] out = {1, 1, 1, 1, 1};
        for (int a = 0; a < dims.length; a++) {
            if (dims[a] > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("extent " + dims[a] + " exceeds copy_nd's int extents");
            }
            out[5 - dims.length + a] = (int) dims[a];
        }
        return out;
    }

    /** @return the strides padded to five (a leading axis of extent 1 addresses nothing: stride 0) */
    private static long[] fiveStrides(long[] dims, long[] strides) {
        long[] out = new long[5];
        System.arraycopy(strides, 0, out, 5 - dims.length, dims.length);
        return out;
    }
}
