package org.renalmtl.cli.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.renalmtl.engine.Device;
import org.renalmtl.engine.Model;
import org.renalmtl.engine.ModelRunException;
import org.renalmtl.engine.PlanMemory;
import org.renalmtl.engine.Precision;
import org.renalmtl.weights.ConfigLimits;
import org.renalmtl.weights.WeightFormatException;

/**
 * One measurement in a fresh JVM, started by {@link BenchRun} so that its resident-memory high-water mark
 * belongs to one model set alone and its thread count ({@code OMP_NUM_THREADS}) is the one asked for:
 * <pre>
 *   BenchWorker peak OUT.json THREADS
 *   BenchWorker models OUT.json DEVICE PRECISION CASES D H W WARMUP RUNS FILE...
 *   BenchWorker seg OUT.json DEVICE PRECISION CONFIG FILE|- BATCH EDGE WARMUP RUNS
 * </pre>
 * {@code models} loads every file (as a user holding them would), then times forwards that run the
 * models one after another; each sample is the whole set's time. On the CPU it then measures the peak
 * ({@link PeakConv}) once more, after the memory figures are read. {@code peak} measures both peaks at
 * THREADS threads: the FMA loop's ({@link FmaPeak}, the hardware bound) and the conv's ({@link PeakConv}).
 * {@code seg} times a segmentation network ({@link SegMeasure}). Exit 2 with one line for a model the
 * machine cannot run (too large, bad file), 1 for anything else.
 */
public final class BenchWorker {
    private static final ObjectMapper JSON = new ObjectMapper();

    private BenchWorker() {}

    /** @param args as above */
    public static void main(String[] args) throws Exception {
        try {
            ObjectNode out = JSON.createObjectNode();
            out.put("rss_before_load_bytes", ProcStatus.rssBytes());
            if (args[0].equals("peak")) {
                double[] p = PeakConv.measure();
                out.put("gflops", p[0]);
                out.put("flops_per_run", (long) p[1]);
                out.put("method", PeakConv.METHOD);
                double[] fma = FmaPeak.measure(Integer.parseInt(args[2]));
                out.put("fma_gflops", fma[0]);
                out.put("fma_flops_per_run", (long) fma[1]);
                out.put("fma_method", FmaPeak.METHOD);
                memory(out);
            } else if (args[0].equals("seg")) {
                SegMeasure.measure(List.of(args).subList(2, args.length), out);
                memory(out);
            } else {
                models(args, out);
                memory(out); // before the peak conv below, whose buffers are not the models'
                if (!out.get("device").asText().startsWith("cuda")) {
                    // the peak again, under the load the forwards just ran with: the run-first peak may
                    // have met another load (a shared machine's varies over a long run)
                    out.put("peak_gflops_after", PeakConv.measure()[0]);
                }
            }
            Files.writeString(Path.of(args[1]), JSON.writeValueAsString(out));
        } catch (ModelRunException | WeightFormatException | UnsupportedOperationException e) {
            System.err.println("bench worker: " + e.getMessage());
            System.exit(2);
        }
    }

    private static void memory(ObjectNode out) {
        out.put("rss_peak_bytes", ProcStatus.peakRssBytes());
        out.put("rss_end_bytes", ProcStatus.rssBytes());
    }

    private static void models(String[] a, ObjectNode out) {
        Device device = Device.parse(a[2]);
        Precision precision = Precision.parse(a[3]);
        int cases = Integer.parseInt(a[4]);
        int[] size = {Integer.parseInt(a[5]), Integer.parseInt(a[6]), Integer.parseInt(a[7])};
        int warmup = Integer.parseInt(a[8]);
        int runs = Integer.parseInt(a[9]);
        List<Model> models = new ArrayList<>();
        try (Arena arena = Arena.ofConfined()) {
            long t0 = System.nanoTime();
            ArrayNode plans = out.putArray("plans");
            for (int i = 10; i < a.length; i++) {
                Model m = Model.load(Path.of(a[i]), device, precision);
                models.add(m);
                PlanMemory p = m.plan(cases, size);
                plans.addObject().put("file", a[i]).put("weight_bytes", p.weightBytes())
                        .put("activation_bytes", p.activationBytes())
                        .put("activation_lower_bound_bytes", p.activationLowerBound())
                        .put("scratch_bytes", p.scratchBytes());
            }
            out.put("plan_seconds", (System.nanoTime() - t0) / 1e9);
            out.put("device", models.getFirst().device().toString());
            long n = (long) cases * models.getFirst().config().phases().size() * size[0] * size[1] * size[2];
            MemorySegment in = arena.allocate(n * Float.BYTES, 64); // (cases, phases, D, H, W)
            SplittableRandom rnd = new SplittableRandom(42);
            for (long i = 0; i < n; i++) {
                in.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) rnd.nextGaussian());
            }
            // (cases, tasks): every model of the set writes its own tasks here in turn
            MemorySegment probs = arena.allocate((long) cases * ConfigLimits.TASKS * Float.BYTES, 64);
            for (int i = 0; i < warmup; i++) {
                forwardAll(models, in, cases, size, probs);
            }
            ArrayNode samples = out.putArray("samples_ms");
            for (int i = 0; i < runs; i++) {
                long t = System.nanoTime();
                forwardAll(models, in, cases, size, probs);
                samples.add((System.nanoTime() - t) / 1e6);
            }
        } finally {
            models.forEach(Model::close);
        }
    }

    private static void forwardAll(List<Model> models, MemorySegment in, int cases, int[] size, MemorySegment probs) {
        for (Model m : models) {
            m.forward(in, cases, size, probs);
        }
    }
}
