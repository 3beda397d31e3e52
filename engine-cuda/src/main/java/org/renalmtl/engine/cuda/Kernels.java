package org.renalmtl.engine.cuda;

import static org.bytedeco.cuda.global.cudart.cuLaunchKernel;
import static org.bytedeco.cuda.global.cudart.cuModuleGetFunction;
import static org.bytedeco.cuda.global.cudart.cuModuleLoadData;
import static org.bytedeco.cuda.global.cudart.cuModuleUnload;
import static org.bytedeco.cuda.global.cudart.cudaDevAttrMultiProcessorCount;
import static org.bytedeco.cuda.global.cudart.cudaDeviceGetAttribute;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.cuda.cudart.CUfunc_st;
import org.bytedeco.cuda.cudart.CUmod_st;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;
import org.renalmtl.kernels.KernelImage;

/**
 * Our kernels ({@code kernels/KERNELS.md}) loaded from the fatbin with {@code cuModuleLoadData} into
 * the current context, and pre-built launches of them: one typed method per kernel, named as the kernel
 * and its CPU twin (camelCase) with the kernel's arguments in order, device pointers as addresses (0 for
 * NULL). Each {@link Launch} owns its argument cells
 * (ENGINEERING.md §5: {@code cuLaunchKernel} wants, per argument, a host cell holding the value),
 * written once, so enqueueing it allocates nothing and it can be captured into a CUDA graph.
 */
final class Kernels implements AutoCloseable {
    private final CUmod_st module = new CUmod_st();
    private final Map<String, CUfunc_st> functions = new HashMap<>();
    private final List<Launch> launches = new ArrayList<>();
    private final int multiprocessors;
    private boolean loaded;

    /**
     * Loads the fatbin into the context current on this thread (set by {@code cudaSetDevice}).
     *
     * @param device the device ordinal, for its multiprocessor count
     */
    Kernels(int device) {
        byte[] image = KernelImage.load().fatbin();
        try (BytePointer bytes = new BytePointer(image.length)) {
            bytes.put(image, 0, image.length);
            Cuda.checkDriver(cuModuleLoadData(module, bytes), "cuModuleLoadData(renal_mtl.fatbin)");
        }
        loaded = true;
        for (String name : KernelImage.KERNEL_NAMES) {
            CUfunc_st f = new CUfunc_st();
            Cuda.checkDriver(cuModuleGetFunction(f, module, name), "cuModuleGetFunction(" + name + ")");
            functions.put(name, f);
        }
        int[] sms = new int[1];
        Cuda.check(cudaDeviceGetAttribute(sms, cudaDevAttrMultiProcessorCount, device), "multiprocessor count");
        multiprocessors = sms[0];
    }

    /** @return the device's multiprocessor count (132 on an H100 SXM) */
    int multiprocessors() {
        return multiprocessors;
    }

    /**
     * {@code copy_nd}: {@code out[Σ c·os] = in[Σ c'·is]} for every flat index, {@code c} its coordinates
     * in the out dims and {@code c'} in the in dims (row-major; rank below 5 pads with leading 1s).
     */
    Launch copyNd(long out, long in, long count, int o0, int o1, int o2, int o3, int o4, long os0, long os1,
            long os2, long os3, long os4, int i0, int i1, int i2, int i3, int i4, long is0, long is1, long is2,
            long is3, long is4) {
        return launch("copy_nd", count).ptr(out).ptr(in).i64(count).i32(o0).i32(o1).i32(o2).i32(o3).i32(o4)
                .i64(os0).i64(os1).i64(os2).i64(os3).i64(os4).i32(i0).i32(i1).i32(i2).i32(i3).i32(i4).i64(is0)
                .i64(is1).i64(is2).i64(is3).i64(is4);
    }

    /** {@code affine_act}: {@code out[r, c] = act(in[r, c] · scale[c] + shift[c])}; scale, shift may be 0 (none). */
    Launch affineAct(long out, long in, long scale, long shift, long rows, int cols, int act, float slope) {
        return launch("affine_act", rows * cols).ptr(out).ptr(in).ptr(scale).ptr(shift).i64(rows).i32(cols).i32(act)
                .f32(slope);
    }

    /** {@code add_act}: {@code out[i] = act(a[i] + b[i])}. */
    Launch addAct(long out, long a, long b, long n, int act, float slope) {
        return launch("add_act", n).ptr(out).ptr(a).ptr(b).i64(n).i32(act).f32(slope);
    }

    /** {@code instance_norm_ndhwc}: per (sample, channel) statistics over the spatial positions, affine, act. */
    Launch instanceNormNdhwc(long out, long in, long scale, long shift, int n, int spatial, int c, float eps, int act,
            float slope) {
        // A block per (sample, tile of 8 channels): kernels/README.md's grid table.
        return launch("instance_norm_ndhwc", (long) n * ((c + 7) / 8) * KernelImage.BLOCK_THREADS).ptr(out).ptr(in)
                .ptr(scale).ptr(shift).i32(n).i32(spatial).i32(c).f32(eps).i32(act).f32(slope);
    }

    /** {@code maxpool3d_ndhwc}: PyTorch's max pool, per-axis kernel, stride and padding. */
    Launch maxpool3dNdhwc(long out, long in, int n, int d, int h, int w, int c, int od, int oh, int ow, int kd, int kh,
            int kw, int sd, int sh, int sw, int pd, int ph, int pw) {
        return launch("maxpool3d_ndhwc", (long) n * od * oh * ow * c).ptr(out).ptr(in).i32(n).i32(d).i32(h).i32(w)
                .i32(c).i32(od).i32(oh).i32(ow).i32(kd).i32(kh).i32(kw).i32(sd).i32(sh).i32(sw).i32(pd).i32(ph).i32(pw);
    }

    /** {@code global_avg_pool_ndhwc}: {@code out[i · outRowStride + ch] = mean over spatial of in[i, :, ch]}. */
    Launch globalAvgPoolNdhwc(long out, long in, int n, int spatial, int c, int outRowStride) {
        // A block per (sample, chunk of 32 channels).
        return launch("global_avg_pool_ndhwc", (long) n * ((c + 31) / 32) * KernelImage.BLOCK_THREADS).ptr(out)
                .ptr(in).i32(n).i32(spatial).i32(c).i32(outRowStride);
    }

    /** {@code shortcut_a_ndhwc}: every {@code stride}-th voxel, channels zero-padded to {@code cout}. */
    Launch shortcutANdhwc(long out, long in, int n, int d, int h, int w, int cin, int od, int oh, int ow, int cout,
            int stride) {
        return launch("shortcut_a_ndhwc", (long) n * od * oh * ow * cout).ptr(out).ptr(in).i32(n).i32(d).i32(h).i32(w)
                .i32(cin).i32(od).i32(oh).i32(ow).i32(cout).i32(stride);
    }

    /** {@code gate_mix}: per sample, softmax of the gate's logits, then the experts mixed by it. */
    Launch gateMix(long out, long logits, long experts, int batch, int width, int e) {
        return launch("gate_mix", (long) batch * width).ptr(out).ptr(logits).ptr(experts).i32(batch).i32(width).i32(e);
    }

    /**
     * Starts a launch of {@code kernel} sized for {@code workItems}: elements for the elementwise kernels
     * (a float per thread is always enough; the float4 paths finish early), blocks × 256 for the
     * reductions (kernels/README.md's table).
     */
    private Launch launch(String kernel, long workItems) {
        CUfunc_st f = functions.get(kernel);
        if (f == null) {
            throw new IllegalArgumentException("no kernel " + kernel + " in the fatbin");
        }
        Launch l = new Launch(kernel, f, KernelImage.gridSize(workItems, multiprocessors));
        launches.add(l);
        return l;
    }

    /** One kernel launch with fixed arguments. */
    static final class Launch {
        private static final int MAX_ARGS = 24; // copy_nd has 23
        private final String name;
        private final CUfunc_st function;
        private final int grid;
        private final LongPointer cells = new LongPointer(MAX_ARGS); // one 8-byte host cell per argument
        private final PointerPointer<Pointer> params = new PointerPointer<>(MAX_ARGS);
        private int count;

        private Launch(String name, CUfunc_st function, int grid) {
            this.name = name;
            this.function = function;
            this.grid = grid;
        }

        private Launch next(long cellValue, boolean isInt) {
            if (count == MAX_ARGS) {
                throw new IllegalStateException(name + ": too many arguments");
            }
            // A 4-byte int sits in the low half of its cell: CUDA hosts are little-endian.
            cells.put(count, isInt ? cellValue & 0xFFFF_FFFFL : cellValue);
            params.put(count, Cuda.at(cells.address() + 8L * count));
            count++;
            return this;
        }

        private Launch ptr(long deviceAddress) {
            return next(deviceAddress, false);
        }

        private Launch i32(int value) {
            return next(value, true);
        }

        private Launch i64(long value) {
            return next(value, false);
        }

        private Launch f32(float value) {
            return next(Float.floatToRawIntBits(value), true);
        }

        /** @return blocks of {@code KernelImage.BLOCK_THREADS} threads */
        int grid() {
            return grid;
        }

        /** Enqueues the kernel on {@code stream}; allocates nothing. */
        void enqueue(CUstream_st stream) {
            Cuda.checkDriver(cuLaunchKernel(function, grid, 1, 1, KernelImage.BLOCK_THREADS, 1, 1, 0, stream, params,
                    (PointerPointer<?>) null), "cuLaunchKernel(" + name + ")");
        }

        private void free() {
            params.close();
            cells.close();
        }
    }

    @Override
    public void close() {
        for (Launch l : launches) {
            l.free();
        }
        launches.clear();
        if (loaded) {
            loaded = false;
            Cuda.checkDriver(cuModuleUnload(module), "cuModuleUnload");
        }
    }
}
