package org.renalmtl.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.pytorch.IValue;
import org.bytedeco.pytorch.IValueVector;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.JitModule;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * A TorchScript copy of the model ({@code model.pt} from {@code weights/export/export_peers.py})
 * run by libtorch through the JavaCPP presets: {@code torch::jit::load}, {@code eval()}, forward under
 * {@code InferenceMode}, intra-op threads set explicitly; optionally frozen and passed through
 * {@code torch::jit::optimize_for_inference} (BatchNorm folded into the convolutions, convolutions
 * switched to oneDNN's blocked layout), which is how one deploys TorchScript for CPU inference and
 * nearly halves libtorch's time here. The input tensor wraps the caller's
 * off-heap input without a copy, so only the forward itself is timed. The same class runs a
 * backbone-only copy for the launcher's feature check ({@link #run}).
 */
public final class LibtorchForward implements ForwardBackend {
    private final JitModule module;
    private final boolean optimized;
    private final int threads;
    private final long outputs; // number of floats the module returns: B·T, or N·F for a backbone
    private final long[] shape; // the traced input shape: (B, P, D, H, W), or (B·P, 1, D, H, W) for a backbone
    private MemorySegment wrapped; // the input segment the tensor below views
    private Tensor inputTensor; // view of `wrapped` with the traced shape, no copy
    private IValueVector inputs; // the one-element argument list holding inputTensor

    /**
     * Loads the TorchScript module.
     *
     * @param torchScript {@code model.pt}
     * @param shape the traced input shape
     * @param outputs number of floats the module returns
     * @param threads intra-op threads
     * @param optimize freeze and {@code optimize_for_inference} the loaded module
     */
    public LibtorchForward(Path torchScript, long[] shape, long outputs, int threads, boolean optimize) {
        this.shape = shape.clone();
        this.outputs = outputs;
        this.threads = threads;
        this.optimized = optimize;
        extractNatives();
        torch.set_num_threads(threads);
        JitModule loaded = torch.load(torchScript.toString());
        loaded.eval();
        if (optimize) {
            module = torch.optimize_for_inference(torch.freeze(loaded));
            loaded.close();
        } else {
            module = loaded;
        }
    }

    /**
     * Extracts all of the presets' native libraries into JavaCPP's cache before the first load.
     * JavaCPP extracts and loads them one by one, and the 15 kB {@code libtorch.so} it loads before
     * {@code libtorch_cpu.so} needs that library: on the first run it is not in the cache yet, so the
     * dynamic linker takes the system's (Debian's python3-torch installs libtorch_cpu 1.13 in
     * /usr/lib/x86_64-linux-gnu), two libtorch versions end up in one process and the JVM dies with
     * SIGSEGV. With everything extracted first, {@code $ORIGIN} finds the right one.
     */
    private static synchronized void extractNatives() {
        String dir = "/org/bytedeco/pytorch/" + Loader.getPlatform() + "/";
        try {
            Loader.cacheResources(LibtorchForward.class, dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot extract libtorch's native libraries from " + dir, e);
        }
    }

    @Override
    public String name() {
        return optimized ? "libtorchOptimized" : "libtorch";
    }

    @Override
    public String describe() {
        return "libtorch (bytedeco pytorch presets, TorchScript " + Arrays.toString(shape)
                + (optimized ? ", frozen + optimize_for_inference" : "") + ", eval + InferenceMode), intra-op threads " + torch.get_num_threads()
                + "\n" + torch.get_parallel_info().getString().strip().indent(4).stripTrailing();
    }

    @Override
    public void forward(MemorySegment input, int cases, MemorySegment probabilities) {
        if (cases != shape[0]) {
            throw new IllegalArgumentException("the TorchScript module was traced for " + shape[0]
                    + " case(s), not " + cases);
        }
        run(input, probabilities);
    }

    /**
     * Runs the module on {@code input} (the traced shape) and copies its output.
     *
     * @param input float32 in C order, the traced input shape
     * @param output receives the module's {@code outputs} floats
     */
    public void run(MemorySegment input, MemorySegment output) {
        // at::set_num_threads is per calling thread with OpenMP: JMH may call from a thread other
        // than the one that loaded the module.
        if (torch.get_num_threads() != threads) {
            torch.set_num_threads(threads);
        }
        bind(input);
        // InferenceMode is a thread-local RAII guard: on for this call, restored by close().
        InferenceMode guard = new InferenceMode();
        try (IValue result = module.forward(inputs);
                Tensor out = result.toTensor();
                Tensor dense = out.contiguous()) {
            if (dense.numel() != outputs) {
                throw new IllegalStateException("libtorch returned " + dense.numel() + " values, expected " + outputs);
            }
            FloatPointer values = dense.data_ptr_float();
            for (long i = 0; i < outputs; i++) {
                output.setAtIndex(ValueLayout.JAVA_FLOAT, i, values.get(i));
            }
        } finally {
            guard.close();
        }
    }

    /** Points the input tensor at {@code input} (once per segment; a tensor view costs nothing). */
    private void bind(MemorySegment input) {
        if (input.equals(wrapped)) {
            return;
        }
        releaseInput();
        FloatPointer data = new FloatPointer(input.asByteBuffer().order(ByteOrder.nativeOrder()).asFloatBuffer());
        inputTensor = torch.from_blob(data, shape);
        inputs = new IValueVector(new IValue(inputTensor));
        wrapped = input;
    }

    private void releaseInput() {
        if (inputs != null) {
            inputs.close();
            inputTensor.close();
            inputs = null;
            inputTensor = null;
            wrapped = null;
        }
    }

    @Override
    public void close() {
        releaseInput();
        module.close();
    }
}
