package org.renalmtl.engine.spi;

import java.util.Map;
import org.renalmtl.engine.Device;
import org.renalmtl.engine.CompiledGraph;
import org.renalmtl.engine.Precision;
import org.renalmtl.engine.graph.Graph;
import org.renalmtl.engine.plan.ExecutionPlan;
import org.renalmtl.weights.ModelConfig;
import org.renalmtl.weights.Tensor;

/**
 * A compute backend that lives in its own artifact, found at run time with
 * {@link java.util.ServiceLoader} (listed in {@code META-INF/services/org.renalmtl.engine.spi.BackendProvider}).
 * The CPU backend is built into the engine; the CUDA backend is {@code org.renalmtl:engine-cuda}, so
 * that depending on the engine alone pulls no CUDA presets.
 *
 * <p>{@code Model} looks providers up once per process. An implementation must have a public
 * no-argument constructor that touches no native library: the engine instantiates every provider on
 * the class path, even on machines where the backend cannot run, and asks {@link #available()}
 * only when a model is loaded for {@link Device.Kind#AUTO} or the provider's kind.
 */
public interface BackendProvider {
    /**
     * The device kind this provider serves.
     *
     * @return {@link Device.Kind#CUDA} for the CUDA backend; never {@link Device.Kind#AUTO}
     */
    Device.Kind kind();

    /**
     * Probes, once, whether the backend can run in this process (drivers, libraries, a device).
     * Must not throw when native libraries are missing: that is the answer {@code false}.
     *
     * @return true when device 0 of {@link #kind()} is usable
     */
    boolean available();

    /**
     * Why the backend cannot run, for people.
     *
     * @return the missing library or device and what to do about it, or {@code "available"}
     */
    String reason();

    /**
     * Throws unless device {@code index} of {@link #kind()} is usable.
     *
     * @param index device ordinal ({@code cuda:N})
     * @throws UnsupportedOperationException with a message starting {@code "device KIND:N: "} that
     *     names what is missing (a library and {@code LD_LIBRARY_PATH}, or the range of devices)
     */
    void require(int index);

    /**
     * Builds a plan: weights resident on the device, activations placed, ready for
     * {@link ExecutionPlan#forward}. Called with the model's lock held, once per input shape.
     *
     * @param config the model config
     * @param tensors every tensor of {@code TensorLayout.expected(config)}; the model keeps them alive
     *     until after the plan is closed
     * @param cases batch size the plan runs
     * @param size input (D, H, W)
     * @param deviceIndex device ordinal, already accepted by {@link #require}
     * @param precision convolution/GEMM arithmetic
     * @return the plan; the caller closes it
     * @throws UnsupportedOperationException if this backend cannot run {@code precision}
     */
    ExecutionPlan plan(ModelConfig config, Map<String, Tensor> tensors, int cases, int[] size, int deviceIndex,
            Precision precision);

    /**
     * Compiles any graph of the engine's IR for device {@code deviceIndex} ({@code Graphs.compile}).
     *
     * @param graph the graph at its input shape; its constants are read while compiling only
     * @param deviceIndex device ordinal, already accepted by {@link #require}
     * @param precision convolution/GEMM arithmetic
     * @return the compiled graph; the caller closes it
     * @throws UnsupportedOperationException if this backend cannot run {@code precision}
     */
    CompiledGraph compile(Graph graph, int deviceIndex, Precision precision);
}
