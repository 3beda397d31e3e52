package org.renalmtl.cli.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.renalmtl.cli.InputException;

/**
 * Starts a {@link BenchWorker} in a fresh JVM with this JVM's class path and the launcher's memory flags,
 * {@code OMP_NUM_THREADS} set to the thread count, and its output kept in a log under the work directory.
 */
final class WorkerProcess {
    private static final ObjectMapper JSON = new ObjectMapper();

    private WorkerProcess() {}

    /**
     * @param work directory for the result and the log
     * @param name file stem of this measurement
     * @param threads oneDNN/OpenMP and fork-join threads
     * @param args the worker's arguments after its output file
     * @return the worker's result
     * @throws InputException if the worker refused the model (exit 2), with its one line
     */
    static ObjectNode run(Path work, String name, int threads, List<String> args) {
        Path out = work.resolve(name + ".json");
        Path log = work.resolve(name + ".log");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-Dorg.bytedeco.javacpp.logger=slf4j",
                "-Djava.util.logging.config.file=/dev/null", "-Djava.awt.headless=true",
                // the launcher's flags (renal-mtl), so that the resident memory is what a user's run holds
                "-XX:+UseSerialGC", "-Xms32m", "-XX:TrimNativeHeapInterval=500",
                "-Djava.util.concurrent.ForkJoinPool.common.parallelism=" + threads,
                "-cp", System.getProperty("java.class.path"), BenchWorker.class.getName(), args.getFirst(),
                out.toString()));
        cmd.addAll(args.subList(1, args.size()));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("OMP_NUM_THREADS", Integer.toString(threads));
        try {
            int code = pb.start().waitFor();
            if (code == 2) {
                throw new InputException(lastLine(log));
            }
            if (code != 0 || !Files.exists(out)) {
                throw new IllegalStateException("bench worker " + name + " failed (exit " + code + "): " + lastLine(log)
                        + " (log " + log + ")");
            }
            return (ObjectNode) JSON.readTree(out.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    /**
     * Measures the machine's peaks (conv and FMA loop) at one thread count in a worker of its own.
     *
     * @return the worker's JSON ({@code gflops}, {@code fma_gflops}, ...) with {@code threads} added
     */
    static ObjectNode peak(Path work, int threads) {
        ObjectNode p = run(work, "peak-" + threads, threads, List.of("peak", Integer.toString(threads)));
        p.put("threads", threads);
        return p;
    }

    private static String lastLine(Path log) throws IOException {
        List<String> lines = Files.readAllLines(log).stream().filter(l -> !l.isBlank()).toList();
        return lines.isEmpty() ? "(no output)" : lines.getLast();
    }
}
