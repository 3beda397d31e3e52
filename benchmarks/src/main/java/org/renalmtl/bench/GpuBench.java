package org.renalmtl.bench;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.ser.std.StdSerializer;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import org.renalmtl.engine.Precision;
import org.renalmtl.engine.cuda.CudaPlan;
import org.renalmtl.engine.cuda.CudaPrecision;
import org.renalmtl.engine.cuda.CudaRuntime;
import org.renalmtl.weights.ModelConfig;
import org.renalmtl.weights.WeightFile;

/**
 * The GPU benchmark of renal-mtl (benchmarks/gpu/run.sh runs it): for each weight file, batch and
 * precision it builds a {@link CudaPlan}, runs one forward on seeded input, checks the
 * probabilities against the strict-fp32 plan of the same file and batch, then times graph replays
 * with CUDA events (upload + whole forward + download per replay, as a request costs) and records
 * p50/p90/mean/min, throughput and device memory (own allocations, their high-water mark with the
 * algorithm search, and the {@code cudaMemGetInfo} delta of creating the plan). Each result says
 * what its arithmetic is ({@code "arithmetic"}: fp16 is half-precision products on float32 storage,
 * not an fp16 model), why a cuDNN bug narrowed it ({@code "guard"}), and how every convolution ran
 * ({@code "convolutions"}: layer, algorithm, math type, fused or not, workspace).
 *
 * <pre>
 * java -cp ... org.renalmtl.bench.GpuBench --weights MTDL.h5 --stdl STDL.h5 --batches 1,8 \
 *      --precisions fp32,tf32,fp16 --warmups 20 --iterations 100 --json java-bench.json
 * </pre>
 *
 * Every combination is written to the JSON as soon as it is measured (a killed run keeps what it
 * measured; {@code "complete": true} marks a finished one); a precision refused by design (bf16 in
 * this build, fp16 on a cuDNN with the fp16 3-D bug) is recorded with {@code "refused"} and its
 * reason; a failing combination (out of memory, a CUDA error) with its error, and the run goes on.
 * Exit code 0 when every combination ran or was refused by design, 1 when some failed or no GPU is
 * usable, 2 for bad options.
 *
 * <p>The JSON is one object: {@code "engine"}, {@code "cuda"} ({@link CudaRuntime#describe()}),
 * {@code "warmups"}, {@code "complete"} and {@code "results"}, one object per combination in the
 * order measured (a weight file that cannot be read gives one result with its error). Jackson writes
 * it; a number that is not finite (a NaN difference from NaN probabilities) is written as
 * {@code null}. It uses only engine-cuda's public API ({@link CudaPlan}, {@link CudaPrecision},
 * {@link CudaRuntime}).
 */
public final class GpuBench {
    private final Map<String, Path> models = new LinkedHashMap<>();
    private int[] batches = {1, 8};
    private List<Precision> precisions = List.of(Precision.FP32, Precision.TF32, Precision.FP16, Precision.BF16);
    private int[] size; // null: the config's input size
    private int warmups = 20;
    private int iterations = 100;
    private int device;
    private Path json;
    private final List<Map<String, Object>> results = new ArrayList<>();

    private GpuBench() {}

    /**
     * Runs the benchmark; see the class comment for options.
     *
     * @param args command line
     */
    public static void main(String[] args) {
        System.exit(run(args));
    }

    /**
     * As {@link #main} but returns the exit code (for a CLI subcommand).
     *
     * @param args command line
     * @return 0 all measured, 1 some failed or no GPU, 2 bad options
     */
    public static int run(String[] args) {
        GpuBench b = new GpuBench();
        try {
            b.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("renal-mtl: error: " + e.getMessage());
            return 2;
        }
        return b.execute();
    }

    private void parse(String[] args) {
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException("option " + a + " needs a value");
            }
            String v = args[++i];
            switch (a) {
                case "--weights", "--mtdl" -> models.put("mtdl", Path.of(v));
                case "--stdl" -> models.put("stdl", Path.of(v));
                case "--batches" -> batches = ints(a, v);
                case "--precisions" -> precisions = Arrays.stream(v.split(",")).map(Precision::parse).toList();
                case "--size" -> {
                    int[] s = ints(a, v);
                    size = s.length == 1 ? new int[] {s[0], s[0], s[0]} : s;
                    if (size.length != 3) {
                        throw new IllegalArgumentException("--size wants N or D,H,W, got " + v);
                    }
                }
                case "--warmups" -> warmups = ints(a, v)[0];
                case "--iterations" -> iterations = ints(a, v)[0];
                case "--device" -> device = ints(a, v)[0];
                case "--json" -> json = Path.of(v);
                default -> throw new IllegalArgumentException("unknown option " + a
                        + " (use --weights, --stdl, --batches, --precisions, --size, --warmups, --iterations, --device, --json)");
            }
        }
        if (models.isEmpty()) {
            throw new IllegalArgumentException("give at least --weights FILE (and optionally --stdl FILE)");
        }
        for (Map.Entry<String, Path> m : models.entrySet()) {
            if (!Files.isRegularFile(m.getValue())) {
                throw new IllegalArgumentException(m.getValue() + ": no such weight file");
            }
        }
        if (iterations < 1 || warmups < 0) {
            throw new IllegalArgumentException("--iterations must be ≥ 1 and --warmups ≥ 0");
        }
    }

    private static int[] ints(String option, String v) {
        try {
            int[] out = Arrays.stream(v.split(",")).mapToInt(s -> Integer.parseInt(s.trim())).toArray();
            for (int x : out) {
                if (x < 0) {
                    throw new NumberFormatException();
                }
            }
            return out;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + " wants non-negative integers separated by commas, got '" + v + "'");
        }
    }

    private int execute() {
        if (!CudaRuntime.available()) {
            System.err.println("renal-mtl: GPU benchmark skipped: " + CudaRuntime.reason());
            write(false);
            return 1;
        }
        System.out.println(CudaRuntime.describe());
        boolean failed = false;
        for (Map.Entry<String, Path> m : models.entrySet()) {
            try (WeightFile wf = WeightFile.load(m.getValue())) {
                ModelConfig config = wf.config();
                int[] s = size != null ? size : config.input().size();
                for (int batch : batches) {
                    float[] reference = null;
                    for (Precision p : precisions) {
                        Map<String, Object> r = new LinkedHashMap<>();
                        r.put("model", m.getKey());
                        r.put("file", m.getValue().toString());
                        r.put("batch", batch);
                        r.put("size", Arrays.toString(s));
                        r.put("precision", p.label());
                        r.put("arithmetic", CudaPrecision.arithmetic(p));
                        Optional<String> refused = CudaPrecision.refusal(p);
                        if (refused.isPresent()) {
                            // Refused by design (bf16 in this build, fp16 on a buggy cuDNN): not a failure.
                            r.put("refused", refused.get());
                        } else {
                            CudaPrecision.guard(p).ifPresent(g -> r.put("guard", g));
                            try {
                                float[] probs = measure(wf, config, batch, s, p, r);
                                if (p == Precision.FP32) {
                                    reference = probs;
                                } else if (reference != null) {
                                    r.put("max_abs_diff_vs_fp32", maxAbsDiff(probs, reference));
                                }
                            } catch (RuntimeException | OutOfMemoryError e) {
                                failed = true;
                                r.put("error", e.getClass().getSimpleName() + ": " + e.getMessage());
                            }
                        }
                        Map<String, Object> shown = new LinkedHashMap<>(r);
                        shown.remove("convolutions"); // one entry per layer: the JSON has them
                        System.out.println(shown);
                        results.add(r);
                        write(false);
                    }
                }
            } catch (RuntimeException e) {
                failed = true;
                Map<String, Object> r = new LinkedHashMap<>();
                r.put("model", m.getKey());
                r.put("file", m.getValue().toString());
                r.put("error", e.getClass().getSimpleName() + ": " + e.getMessage());
                results.add(r);
            }
        }
        write(true);
        return failed ? 1 : 0;
    }

    private float[] measure(WeightFile wf, ModelConfig config, int batch, int[] s, Precision p, Map<String, Object> r) {
        int tasks = config.tasks().size();
        long inputN = (long) batch * config.phases().size() * s[0] * s[1] * s[2];
        long t0 = System.nanoTime();
        try (CudaPlan plan = new CudaPlan(config, wf.tensors(), batch, s, device, p);
                Arena arena = Arena.ofConfined()) {
            r.put("plan_s", (System.nanoTime() - t0) / 1e9);
            MemorySegment input = arena.allocate(inputN * Float.BYTES, 64);
            SplittableRandom rnd = new SplittableRandom(1234);
            for (long i = 0; i < inputN; i++) {
                input.setAtIndex(JAVA_FLOAT, i, (float) (rnd.nextDouble() * 4 - 2));
            }
            MemorySegment probs = arena.allocate((long) batch * tasks * Float.BYTES, 64);
            plan.forward(input, probs);
            long mallocs = CudaPlan.deviceMallocCount();
            float[] ms = plan.timeReplays(warmups, iterations);
            r.put("mallocs_during_timing", CudaPlan.deviceMallocCount() - mallocs);
            float[] sorted = ms.clone();
            Arrays.sort(sorted);
            double mean = 0;
            for (float x : ms) {
                mean += x;
            }
            mean /= ms.length;
            double p50 = percentile(sorted, 0.5);
            r.put("iterations", iterations);
            r.put("p50_ms", p50);
            r.put("p90_ms", percentile(sorted, 0.9));
            r.put("mean_ms", mean);
            r.put("min_ms", (double) sorted[0]);
            r.put("cases_per_s", batch / (p50 / 1000));
            r.put("weight_bytes", plan.weightBytes());
            r.put("activation_bytes", plan.activationBytes());
            r.put("activation_lower_bound", plan.activationLowerBound());
            r.put("workspace_bytes", plan.scratchBytes());
            r.put("own_device_bytes", plan.ownDeviceBytes());
            r.put("peak_own_device_bytes", plan.peakOwnDeviceBytes());
            r.put("mem_get_info_delta_bytes", plan.memGetInfoDeltaBytes());
            r.put("convolutions", plan.convolutions().stream().map(GpuBench::convolution).toList());
            return probs.toArray(JAVA_FLOAT);
        }
    }

    private static double percentile(float[] sorted, double q) {
        double pos = q * (sorted.length - 1);
        int lo = (int) Math.floor(pos);
        int hi = Math.min(lo + 1, sorted.length - 1);
        return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
    }

    private static double maxAbsDiff(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }

    /**
     * Maps one convolution to its JSON entry, with the field names the JSON has always had.
     *
     * @param c how a convolution of the plan runs
     * @return its entry in a result's {@code convolutions} list: layer, algo, math, mode, workspace_bytes
     */
    static Map<String, Object> convolution(CudaPlan.Convolution c) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("layer", c.layer());
        m.put("algo", c.algorithm());
        m.put("math", c.mathType());
        m.put("mode", c.fused() ? "fused" : "conv+affine_act");
        m.put("workspace_bytes", c.workspaceBytes());
        return m;
    }

    /**
     * Writes JSON: pretty-printed, map entries in insertion order, and a {@code Double} or
     * {@code Float} that is not finite as {@code null} (JSON has no NaN; Jackson would write a string).
     */
    static final ObjectMapper JSON = JsonMapper.builder()
            .enable(SerializationFeature.INDENT_OUTPUT)
            .addModule(new SimpleModule("finite-or-null")
                    .addSerializer(Double.class, new FiniteOrNull<>(Double.class))
                    .addSerializer(Float.class, new FiniteOrNull<>(Float.class)))
            .build();

    /** A floating-point number, or {@code null} where it is NaN or infinite. */
    private static final class FiniteOrNull<T extends Number> extends StdSerializer<T> {
        FiniteOrNull(Class<T> type) {
            super(type);
        }

        @Override
        public void serialize(T value, JsonGenerator gen, SerializerProvider provider) throws IOException {
            double d = value.doubleValue();
            if (!Double.isFinite(d)) {
                gen.writeNull();
            } else if (value instanceof Float f) {
                gen.writeNumber(f);
            } else {
                gen.writeNumber(d);
            }
        }
    }

    /** @return the whole JSON document as it stands */
    private Map<String, Object> document(boolean complete) {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("engine", "renal-mtl CudaPlan");
        doc.put("cuda", CudaRuntime.describe());
        doc.put("warmups", warmups);
        doc.put("complete", complete);
        doc.put("results", results);
        return doc;
    }

    /** Writes the JSON, when asked for, and reports (not throws) a failure to write it. */
    private void write(boolean complete) {
        if (json == null) {
            return;
        }
        try {
            writeAtomically(json, document(complete));
        } catch (IOException e) {
            System.err.println("renal-mtl: cannot write " + json + ": " + e.getMessage());
        }
    }

    /**
     * Writes {@code document} as JSON through a temporary file in the same directory and an atomic
     * rename (a plain replace where the file system has none), so a reader never sees half a file.
     *
     * @param json the file to write
     * @param document what to write: maps, lists, strings, numbers, booleans
     * @throws IOException if the temporary file cannot be written or moved; it is then removed
     */
    static void writeAtomically(Path json, Object document) throws IOException {
        Path dir = json.toAbsolutePath().getParent();
        Path tmp = Files.createTempFile(dir, ".java-bench", ".tmp");
        try {
            Files.writeString(tmp, JSON.writeValueAsString(document) + "\n", StandardCharsets.UTF_8);
            try {
                Files.move(tmp, json, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, json, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
