package org.renalmtl.engine;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.concurrent.locks.ReentrantLock;
import org.renalmtl.engine.cpu.CpuPlan;
import org.renalmtl.engine.plan.ExecutionPlan;
import org.renalmtl.engine.spi.BackendProvider;
import org.renalmtl.weights.ModelConfig;
import org.renalmtl.weights.Tensor;
import org.renalmtl.weights.WeightFile;

/**
 * A loaded renal-mtl model, ready to predict.
 *
 * <pre>{@code
 * try (Model model = Model.load(Path.of("model.h5"), Device.CPU)) {
 *     Prediction p = model.predict(volumes); // (phases, D, H, W) of one case
 * }
 * }</pre>
 *
 * <p>A plan (networks bound to one activation arena, weights in oneDNN's layouts) is built on the
 * first forward of each (cases, D, H, W) and reused; after that {@link #forward} allocates
 * nothing. Thread-safe: concurrent callers are serialised, since one forward already uses every
 * core. Close it to free native memory; the GC is never relied on.
 *
 * <p>The CPU backend is built in. CUDA needs {@code org.renalmtl:engine-cuda} on the class path
 * (found with {@link java.util.ServiceLoader}, {@link BackendProvider}); without it {@code auto}
 * runs on the CPU and {@code cuda} is refused.
 */
public final class Model implements AutoCloseable {
    private final String source; // the weight file, or the config's name for weights in memory: named in errors
    private final ModelConfig config;
    private final Path file; // the weight file, or null for weights in memory
    private Map<String, Tensor> tensors; // null once released: a new shape re-reads them from the file
    private AutoCloseable weightOwner; // closed with the model, or when the file's tensors are released
    private final Device device;
    private final Map<List<Integer>, ExecutionPlan> plans = new HashMap<>();
    /** The auto fallback is said once per process, not once per model. */

    private final ReentrantLock lock = new ReentrantLock();
    private ExecutionPlan lastPlan;
    private int lastCases;
    private int[] lastSize = new int[0];
    private boolean closed;
    private Precision precision = Precision.TF32; // CUDA arithmetic, set by load(Path, Device, Precision)

    private Model(String source, Path file, ModelConfig config, Map<String, Tensor> tensors, AutoCloseable weightOwner,
            Device device) {
        this.source = source;
        this.file = file;
        this.config = config;
        this.tensors = tensors;
        this.weightOwner = weightOwner;
        this.device = device;
    }

    /**
     * Loads and checks a weight file.
     *
     * @param path HDF5 weight file (FORMAT.md)
     * @param device where to run; {@code auto} falls back to the CPU
     * @throws org.renalmtl.weights.WeightFormatException if the file is unusable
     * @throws UnsupportedOperationException if the device is not available
     */
    public static Model load(Path path, Device device) {
        Device d = device.resolve();
        WeightFile wf = WeightFile.load(path);
        return new Model(path.toString(), path, wf.config(), wf.tensors(), wf, d);
    }

    /**
     * As {@link #load(Path, Device)} with the GPU's arithmetic chosen (ignored on the CPU).
     *
     * @param precision convolution/GEMM arithmetic on CUDA; {@link #load(Path, Device)} uses TF32
     * @throws UnsupportedOperationException if the device is not available
     */
    public static Model load(Path path, Device device, Precision precision) {
        Model m = load(path, device);
        m.precision = precision;
        return m;
    }

    /**
     * Wraps weights already in memory (seeded demo weights, tests).
     *
     * @param config the config
     * @param tensors every tensor of {@code TensorLayout.expected(config)}
     * @param owner closed with the model (e.g. the arena holding the tensors), or null
     */
    public static Model of(ModelConfig config, Map<String, Tensor> tensors, AutoCloseable owner, Device device) {
        return new Model("model " + config.name(), null, config, tensors, owner, device.resolve());
    }

    /** @return the model config */
    public ModelConfig config() {
        return config;
    }

    /** @return the device this model runs on */
    public Device device() {
        return device;
    }

    /** @return network input size (D, H, W) from the config */
    public int[] inputSize() {
        return config.input().size().clone();
    }

    /**
     * Runs the model on a batch without allocating (after the first call for this shape).
     *
     * @param input float32, C order // (cases, phases, D, H, W) with (D, H, W) = {@link #inputSize}
     * @param cases number of cases in {@code input}
     * @param probabilities receives float32 // (cases, tasks), the config's task order
     */
    public void forward(MemorySegment input, int cases, MemorySegment probabilities) {
        forward(input, cases, config.input().size(), probabilities);
    }

    /**
     * As {@link #forward(MemorySegment, int, MemorySegment)} for another input size (the backbone
     * is fully convolutional; the PLE head only sees pooled features).
     *
     * @param size (D, H, W)
     */
    public void forward(MemorySegment input, int cases, int[] size, MemorySegment probabilities) {
        lock.lock();
        try {
            checkOpen(); // first: a closed model says so whatever the arguments
            long need = (long) cases * config.phases().size() * size[0] * size[1] * size[2] * Float.BYTES;
            if (input.byteSize() < need) {
                throw new IllegalArgumentException("input has " + input.byteSize() + " bytes, the shape needs " + need);
            }
            if (probabilities.byteSize() < (long) cases * config.tasks().size() * Float.BYTES) {
                throw new IllegalArgumentException("probabilities buffer too small");
            }
            requireFiniteInput(input, need);
            // The last shape is checked without building a map key, so warm calls allocate nothing.
            ExecutionPlan plan = lastPlan != null && lastCases == cases && Arrays.equals(lastSize, size)
                    ? lastPlan
                    : planFor(cases, size);
            plan.forward(input, probabilities);
            if (plan != lastPlan) {
                lastPlan = plan;
                lastCases = cases;
                lastSize = size.clone();
            }
            requireFinite(plan, cases, input, probabilities);
        } finally {
            lock.unlock();
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("model closed: " + source);
        }
    }

    /**
     * A non-finite value is never handed out as a probability: overflowing weights (a flipped exponent
     * bit, 3e38 values) or an input far outside the training range make the network produce NaN or
     * ±Inf, which a report would otherwise print as a result or, after a sigmoid, as a plausible
     * probability. The features are checked too (on the CPU, where they are already in host memory):
     * an infinity there is flattened to 0 or 1 by the head. Costs (cases × (tasks + features)) reads;
     * the error then names the first layer whose output is not finite (one more, checked, forward).
     */
    private void requireFinite(ExecutionPlan plan, int cases, MemorySegment input, MemorySegment probabilities) {
        int tasks = config.tasks().size();
        for (long i = 0; i < (long) cases * tasks; i++) {
            float p = probabilities.getAtIndex(JAVA_FLOAT, i);
            if (!Float.isFinite(p)) {
                throw new ModelRunException(source + ": the network's output for task '"
                        + config.tasks().get((int) (i % tasks)).name() + "' is " + p + " (case " + i / tasks
                        + ")" + firstNonFinite(plan, input) + ": the weights or the input overflow float32");
            }
        }
        String vector = plan.nonFiniteVector();
        if (vector != null) {
            throw new ModelRunException(source + ": the output of " + vector + " is not finite (the probabilities"
                    + " came out finite only because a ReLU turned NaN into 0)" + firstNonFinite(plan, input)
                    + ": the weights or the input overflow float32");
        }
        if (device.kind() == Device.Kind.CPU) {
            for (int n = 0; n < config.networks().size(); n++) {
                MemorySegment f = plan.features(n);
                for (long i = 0; i < f.byteSize() / Float.BYTES; i++) {
                    float v = f.getAtIndex(JAVA_FLOAT, i);
                    if (!Float.isFinite(v)) {
                        throw new ModelRunException(source + ": the backbone features of network '"
                                + config.networks().get(n).name() + "' hold " + v + firstNonFinite(plan, input)
                                + ": the weights or the input overflow float32");
                    }
                }
            }
        }
    }

    /**
     * A NaN or infinite input would not reliably come out as a non-finite result: x86's max (oneDNN's ReLU
     * and max-pool) turns NaN into 0, so the network would answer plausibly around it. One read of the
     * input (3 × 96³ floats: about 1 ms), cheap against the forward.
     */
    private static void requireFiniteInput(MemorySegment input, long bytes) {
        for (long i = 0; i < bytes / Float.BYTES; i++) {
            float v = input.getAtIndex(JAVA_FLOAT, i);
            if (!Float.isFinite(v)) {
                throw new IllegalArgumentException("input holds " + v + " at element " + i
                        + ": every input value must be finite");
            }
        }
    }

    private static String firstNonFinite(ExecutionPlan plan, MemorySegment input) {
        String where = plan.firstNonFiniteLayer(input);
        return where == null ? "; every layer was finite when re-run, so the result is not reproducible"
                : "; the first non-finite value appears after " + where;
    }

    /**
     * Builds (or finds) the plan for a shape, so callers can pay planning up front, and says what it holds.
     *
     * @return the plan's memory figures (the plan itself stays the model's: closing the model closes it)
     */
    public PlanMemory plan(int cases, int[] size) {
        lock.lock();
        try {
            ExecutionPlan p = planFor(cases, size);
            return new PlanMemory(p.weightBytes(), p.activationBytes(), p.activationLowerBound(), p.scratchBytes());
        } finally {
            lock.unlock();
        }
    }

    /** Caller holds the lock. */
    private ExecutionPlan planFor(int cases, int[] size) {
        checkOpen();
        if (cases < 1) {
            throw new IllegalArgumentException("cases must be ≥ 1");
        }
        List<Integer> key = List.of(cases, size[0], size[1], size[2]);
        ExecutionPlan plan = plans.get(key);
        if (plan == null) {
            if (tensors == null) {
                try (WeightFile wf = WeightFile.load(file)) {
                    if (!wf.config().json().equals(config.json())) {
                        throw new ModelRunException(source + ": the weight file changed since the model was loaded");
                    }
                    plan = newPlan(wf.tensors(), cases, size, wf::release, () -> { }); // wf frees the rest when closed
                }
            } else {
                try {
                    plan = file == null ? newPlan(tensors, cases, size, null, null)
                            : newPlan(tensors, cases, size, this::releaseFileTensor, this::releaseFileWeights);
                } finally {
                    // Spent by the plan (BatchNorm folded into them), whether or not it was made: a later
                    // plan re-reads the file rather than folding twice.
                    releaseFileWeights();
                }
            }
            plans.put(key, plan);
        }
        return plan;
    }

    /**
     * @param spentTensor null to keep the weights; else the plan may spend them, and hands each tensor's
     *     memory to it once packed
     * @param spent called once every weight is packed
     */
    private ExecutionPlan newPlan(Map<String, Tensor> weights, int cases, int[] size, Consumer<MemorySegment> spentTensor,
            Runnable spent) {
        return device.kind() == Device.Kind.CUDA
                ? Backends.cuda(device.index()).plan(config, weights, cases, size, device.index(), precision)
                : new CpuPlan(config, weights, cases, size, spentTensor, spent);
    }

    /** One tensor of the file is packed: its memory goes now (the file's copy shrinks as the packed one grows). */
    private void releaseFileTensor(MemorySegment data) {
        if (weightOwner instanceof WeightFile wf) {
            wf.release(data);
        }
    }

    /**
     * Weights live once: a plan packs them into its backend's layouts (oneDNN's blocked formats, device
     * memory), so the file's copy is released after the first plan and re-read should another shape
     * need one. Weights handed in memory ({@link #of}) are the caller's and stay.
     */
    private void releaseFileWeights() {
        if (file == null || tensors == null) {
            return; // weights in memory stay the caller's; released ones are gone already
        }
        tensors = null;
        try {
            weightOwner.close();
        } catch (Exception e) {
            throw new IllegalStateException("releasing the weights of " + source + ": " + e.getMessage(), e);
        }
        weightOwner = null;
    }

    /**
     * Predicts one case.
     *
     * @param volumes float32 // (phases, D, H, W), D·H·W = {@link #inputSize}
     * @return per-task probabilities and labels
     */
    public Prediction predict(MemorySegment volumes) {
        return predictBatch(volumes, 1).get(0);
    }

    /**
     * Predicts several cases in one forward.
     *
     * @param volumes float32 // (cases, phases, D, H, W)
     */
    public List<Prediction> predictBatch(MemorySegment volumes, int cases) {
        try (Arena arena = Arena.ofConfined()) {
            int tasks = config.tasks().size();
            MemorySegment probs = arena.allocate((long) cases * tasks * Float.BYTES, 64);
            forward(volumes, cases, probs);
            List<Prediction> out = new ArrayList<>();
            for (int c = 0; c < cases; c++) {
                List<Prediction.TaskResult> rs = new ArrayList<>();
                for (int t = 0; t < tasks; t++) {
                    ModelConfig.Task task = config.tasks().get(t);
                    double p = probs.getAtIndex(JAVA_FLOAT, (long) c * tasks + t);
                    boolean pos = p >= task.threshold();
                    rs.add(new Prediction.TaskResult(task.name(), p, task.threshold(), pos,
                            pos ? task.positive() : task.negative()));
                }
                out.add(new Prediction(rs));
            }
            return out;
        }
    }

    /**
     * Fused features entering network {@code network}'s head in the last forward, for checks
     * against the framework the weights came from.
     *
     * @return a copy // (cases, fused width)
     */
    public float[] lastFeatures(int network) {
        lock.lock();
        try {
            checkOpen();
            if (lastPlan == null) {
                throw new IllegalStateException("no forward yet");
            }
            return lastPlan.features(network).toArray(JAVA_FLOAT);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void close() {
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            for (ExecutionPlan p : plans.values()) {
                p.close();
            }
            plans.clear();
            if (weightOwner != null) {
                weightOwner.close();
            }
        } catch (Exception e) {
            throw new IllegalStateException("closing weights: " + e.getMessage(), e);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public String toString() {
        return "Model[" + config.name() + ", " + device + ", input " + Arrays.toString(config.input().size()) + "]";
    }
}
