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
 * the current context, and pre-built launches of them. Each {@link Launch} owns its argument cells
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
     * Starts a launch of {@code kernel} sized for {@code workItems} (kernels/README.md's table);
     * add its arguments in the kernel's order with {@link Launch#ptr} and {@link Launch#i32}.
     */
    Launch launch(String kernel, long workItems) {
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
        private static final int MAX_ARGS = 16;
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

        /** Appends a pointer argument (a device address). */
        Launch ptr(long deviceAddress) {
            return next(deviceAddress, false);
        }

        /** Appends an {@code int} argument. */
        Launch i32(int value) {
            return next(value, true);
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
