package org.renalmtl.engine.cuda;

import java.util.Map;
import org.renalmtl.engine.Device;
import org.renalmtl.engine.CompiledGraph;
import org.renalmtl.engine.Precision;
import org.renalmtl.engine.graph.Graph;
import org.renalmtl.engine.plan.ExecutionPlan;
import org.renalmtl.engine.spi.BackendProvider;
import org.renalmtl.weights.ModelConfig;
import org.renalmtl.weights.Tensor;

/**
 * The CUDA backend as the engine sees it: registered in
 * {@code META-INF/services/org.renalmtl.engine.spi.BackendProvider}, so {@code Model} finds it when
 * this artifact is on the class path. Touches no CUDA class until asked (via {@link CudaRuntime},
 * which catches a missing driver or library), so merely having it on the path is safe everywhere.
 */
public final class CudaBackendProvider implements BackendProvider {
    /** Called by {@link java.util.ServiceLoader}. */
    public CudaBackendProvider() {}

    @Override
    public Device.Kind kind() {
        return Device.Kind.CUDA;
    }

    @Override
    public boolean available() {
        return CudaRuntime.available();
    }

    @Override
    public String reason() {
        return CudaRuntime.reason();
    }

    @Override
    public void require(int index) {
        CudaRuntime.require(index);
    }

    @Override
    public ExecutionPlan plan(ModelConfig config, Map<String, Tensor> tensors, int cases, int[] size, int deviceIndex,
            Precision precision) {
        return new CudaPlan(config, tensors, cases, size, deviceIndex, precision);
    }

    @Override
    public CompiledGraph compile(Graph graph, int deviceIndex, Precision precision) {
        return new CudaGraphRunner(graph, deviceIndex, precision);
    }
}
