package org.renalmtl.cli.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CyclicBarrier;

/**
 * The machine's float32 FMA rate, the hardware bound beside {@link PeakConv}'s attainable one: plain Java
 * loops that C2's auto-vectoriser turns into packed FMAs (no incubator Vector API: the build does not
 * enable {@code jdk.incubator.vector}), one loop per thread, all threads started together.
 * Each thread owns {@value #LANES} floats (16 KiB, in L1); every element runs a chain of
 * {@value #CHAIN} dependent FMAs per pass, and the elements are independent, so the unrolled vector loop
 * keeps more independent chains in flight than the FMA units' latency × ports needs, while the one load
 * and one store per {@value #CHAIN} FMAs leave the load/store ports idle enough not to bound it. The
 * figure is the best of {@value #RUNS} timed runs; it is a measured rate, not the vendor's sheet: a lower
 * estimate of the hardware bound (C2 keeps a load and a store per chain pass and may pick narrower vectors
 * than the machine has). On the AVX-512 development machine it reached 165–200 GFLOP/s per thread, about
 * what oneDNN's JIT conv reaches, and below it with two threads under load.
 */
final class FmaPeak {
    /** Timed runs; the best counts. */
    static final int RUNS = 5;
    /** Floats per thread (16 KiB, in any L1): 256 AVX-512 vectors, independent chains; fewer measured lower on the development machine (loop overhead per pass). */
    static final int LANES = 4096;
    /** Dependent FMAs per element per pass. */
    static final int CHAIN = 8;
    /** Passes over the lanes per timed run (per thread: LANES × CHAIN × PASSES FMAs). */
    static final int PASSES = 50_000;
    /** What the figure is, for the JSON. */
    static final String METHOD = "Java loops of independent FMA chains (" + LANES + " floats x " + CHAIN
            + " dependent Math.fma per pass per thread, C2 auto-vectorised), all threads together, best of " + RUNS
            + " runs after 3 untimed; 2 FLOPs per FMA";

    private FmaPeak() {}

    /** @return {best GFLOP/s over all threads, FLOPs of one run} */
    static double[] measure(int threads) {
        // warm C2 on one thread first, so the timed runs execute the compiled, vectorised loop
        float[] warm = lanes();
        for (int i = 0; i < 3; i++) {
            chains(warm, PASSES);
        }
        long flops = 2L * LANES * CHAIN * PASSES * threads;
        long best = Long.MAX_VALUE;
        for (int r = 0; r < RUNS; r++) {
            best = Math.min(best, timedRun(threads));
        }
        return new double[] {flops / (double) best, flops};
    }

    /** @return the nanoseconds from the first thread's start until the last one finished */
    private static long timedRun(int threads) {
        CyclicBarrier start = new CyclicBarrier(threads + 1);
        float[] sink = new float[threads]; // (threads): one result per thread, so no chain is dead code
        long[] span = new long[2 * threads]; // (threads, {start, end}) nanoTime of each worker's own loop
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int id = t;
            workers.add(Thread.ofPlatform().start(() -> {
                float[] x = lanes();
                await(start);
                span[2 * id] = System.nanoTime();
                chains(x, PASSES);
                span[2 * id + 1] = System.nanoTime();
                sink[id] = x[id % LANES];
            }));
        }
        await(start);
        try {
            for (Thread w : workers) {
                w.join();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
        // from the first worker's start to the last one's end: this thread may be descheduled after the barrier
        long first = Long.MAX_VALUE;
        long last = Long.MIN_VALUE;
        for (int t = 0; t < threads; t++) {
            first = Math.min(first, span[2 * t]);
            last = Math.max(last, span[2 * t + 1]);
        }
        for (float f : sink) {
            if (!Float.isFinite(f)) {
                throw new IllegalStateException("FMA chains diverged: " + f);
            }
        }
        return last - first;
    }

    private static float[] lanes() {
        float[] x = new float[LANES];
        for (int i = 0; i < LANES; i++) {
            x[i] = i / (float) LANES;
        }
        return x;
    }

    /**
     * x ← x·m + c, {@value #CHAIN} times per element per pass; with m &lt; 1 it converges to c/(1-m), so no
     * value overflows or goes denormal (either would slow the units down).
     */
    private static void chains(float[] x, int passes) {
        float m = 0.999f;
        float c = 0.001f;
        for (int p = 0; p < passes; p++) {
            for (int i = 0; i < x.length; i++) {
                float v = x[i];
                v = Math.fma(v, m, c);
                v = Math.fma(v, m, c);
                v = Math.fma(v, m, c);
                v = Math.fma(v, m, c);
                v = Math.fma(v, m, c);
                v = Math.fma(v, m, c);
                v = Math.fma(v, m, c);
                v = Math.fma(v, m, c);
                x[i] = v;
            }
        }
    }

    private static void await(CyclicBarrier b) {
        try {
            b.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } catch (BrokenBarrierException e) {
            throw new IllegalStateException(e);
        }
    }
}
