package org.renalmtl.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

/**
 * The ONNX copy of the model ({@code model.onnx} from {@code weights/export/export_peers.py}) run by
 * ONNX Runtime's Java API on the CPU execution provider: all graph optimisations, sequential
 * execution, intra-op threads set explicitly. The input tensor is created over the caller's
 * off-heap input (a direct buffer), so ORT reads it in place.
 */
public final class OnnxRuntimeForward implements ForwardBackend {
    private final OrtEnvironment environment;
    private final OrtSession session;
    private final String inputName;
    private final int threads;
    private final int tasks;
    private final long[] shape; // (B, P, D, H, W) the ONNX graph was exported with
    private MemorySegment wrapped; // the input segment the tensor below views
    private OnnxTensor inputTensor; // (B, P, D, H, W) over `wrapped`, no copy

    /**
     * Creates the session.
     *
     * @param onnx {@code model.onnx}
     * @param inputName the graph's input name
     * @param shape the exported input shape {@code (B, P, D, H, W)}
     * @param tasks T, the width of the output
     * @param threads intra-op threads
     */
    public OnnxRuntimeForward(Path onnx, String inputName, long[] shape, int tasks, int threads) {
        this.inputName = inputName;
        this.shape = shape.clone();
        this.tasks = tasks;
        this.threads = threads;
        environment = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            options.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
            options.setIntraOpNumThreads(threads);
            options.setInterOpNumThreads(1);
            session = environment.createSession(onnx.toString(), options);
        } catch (OrtException e) {
            throw new IllegalStateException(onnx + ": ONNX Runtime cannot load the model: " + e.getMessage(), e);
        }
    }

    @Override
    public String name() {
        return "onnxRuntime";
    }

    @Override
    public String describe() {
        return "ONNX Runtime " + environment.getVersion() + " (Java API, CPU EP, ALL_OPT, sequential, "
                + Arrays.toString(shape) + "), intra-op threads " + threads;
    }

    @Override
    public void forward(MemorySegment input, int cases, MemorySegment probabilities) {
        if (cases != shape[0]) {
            throw new IllegalArgumentException("the ONNX graph was exported for " + shape[0]
                    + " case(s), not " + cases);
        }
        bind(input);
        try (OrtSession.Result result = session.run(Map.of(inputName, inputTensor))) {
            FloatBuffer out = ((OnnxTensor) result.get(0)).getFloatBuffer();
            if (out.remaining() != cases * tasks) {
                throw new IllegalStateException("ONNX Runtime returned " + out.remaining() + " values, expected "
                        + cases * tasks);
            }
            for (int i = 0; i < cases * tasks; i++) {
                probabilities.setAtIndex(ValueLayout.JAVA_FLOAT, i, out.get(i));
            }
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime forward failed: " + e.getMessage(), e);
        }
    }

    /** Creates the input tensor over {@code input} (once per segment). */
    private void bind(MemorySegment input) {
        if (input.equals(wrapped)) {
            return;
        }
        releaseInput();
        FloatBuffer data = input.asByteBuffer().order(ByteOrder.nativeOrder()).asFloatBuffer();
        try {
            inputTensor = OnnxTensor.createTensor(environment, data, shape);
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime cannot wrap the input: " + e.getMessage(), e);
        }
        wrapped = input;
    }

    private void releaseInput() {
        if (inputTensor != null) {
            inputTensor.close();
            inputTensor = null;
            wrapped = null;
        }
    }

    @Override
    public void close() {
        releaseInput();
        try {
            session.close();
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime cannot close the session: " + e.getMessage(), e);
        }
    }
}
