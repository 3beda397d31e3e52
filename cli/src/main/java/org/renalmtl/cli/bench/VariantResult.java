package org.renalmtl.cli.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.renalmtl.weights.ModelConfig;
import org.renalmtl.weights.TensorLayout;

/** One model set's figures at one point, from its worker's raw result: the JSON {@code bench} writes per variant. */
final class VariantResult {
    private static final ObjectMapper JSON = new ObjectMapper();

    private VariantResult() {}

    /**
     * @param worker the worker's result ({@link BenchWorker})
     * @param config the config whose networks the set runs (for parameters and FLOPs)
     * @param peakGflops the measured conv peak at this thread count, NaN where none was measured (GPU)
     * @param fmaGflops the measured FMA-loop peak at this thread count, NaN where none was measured (GPU)
     */
    static ObjectNode of(JsonNode worker, ModelConfig config, int batch, int[] size, double peakGflops,
            double fmaGflops) {
        ObjectNode v = JSON.createObjectNode();
        ArrayNode plans = (ArrayNode) worker.get("plans");
        v.put("models", plans.size());
        JsonNode raw = worker.get("samples_ms");
        double[] samples = new double[raw.size()];
        for (int i = 0; i < samples.length; i++) {
            samples[i] = raw.get(i).asDouble();
        }
        Latency lat = new Latency(samples);
        lat.write(v.putObject("latency"));
        v.put("throughput_cases_per_s", batch * 1000.0 / lat.p50());
        v.put("parameters", TensorLayout.parameterCount(config));
        long flops = Flops.of(config, batch, size);
        v.put("flops_per_forward", flops);
        double gflops = flops / (lat.p50() * 1e6);
        v.put("achieved_gflops_p50", gflops);
        if (Double.isNaN(fmaGflops)) {
            v.putNull("fraction_of_fma_peak");
        } else {
            v.put("fma_peak_gflops", fmaGflops);
            v.put("fraction_of_fma_peak", gflops / fmaGflops);
        }
        if (Double.isNaN(peakGflops)) {
            v.putNull("fraction_of_peak");
        } else {
            // against the higher of the run-first peak and the one measured in this set's own process right
            // after its forwards: a load that fell or rose in between cannot lift the fraction above what
            // the machine reached
            double peak = Math.max(peakGflops, worker.path("peak_gflops_after").asDouble(0));
            v.put("peak_gflops_used", peak);
            if (worker.has("peak_gflops_after")) {
                v.put("peak_gflops_after", worker.get("peak_gflops_after").asDouble());
            }
            v.put("fraction_of_peak", gflops / peak);
        }
        v.put("plan_seconds", worker.get("plan_seconds").asDouble());
        ObjectNode planned = v.putObject("memory_planned");
        long weights = sum(plans, "weight_bytes");
        long act = sum(plans, "activation_bytes");
        long scratch = sum(plans, "scratch_bytes");
        planned.put("weight_bytes", weights);
        planned.put("activation_bytes", act);
        planned.put("activation_lower_bound_bytes", sum(plans, "activation_lower_bound_bytes"));
        planned.put("scratch_bytes", scratch);
        planned.put("total_bytes", weights + act + scratch);
        ProcStatus.putMeasured(v, worker);
        v.set("plans", plans);
        return v;
    }

    private static long sum(ArrayNode plans, String field) {
        long n = 0;
        for (JsonNode p : plans) {
            n += p.get(field).asLong();
        }
        return n;
    }
}
