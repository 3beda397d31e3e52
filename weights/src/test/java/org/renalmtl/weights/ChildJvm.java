package org.renalmtl.weights;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Runs {@link LoadInChildJvm} on some files in a separate JVM (same java, same classpath) and
 * collects what happened, so a file that crashes native code, or hangs, fails a test instead of the
 * build. Output goes to a file, not a pipe, so a hung child cannot block the parent's read.
 *
 * @param exitCode the child's exit code, or -1 if it was killed after the timeout
 * @param output everything the child printed
 * @param results file → its result line (ERROR, LOADED or OTHER), for the files that got one
 * @param crashLogs hs_err files the JVM wrote (it writes one when native code crashes it)
 */
record ChildJvm(int exitCode, String output, Map<String, String> results, List<Path> crashLogs) {

    /** Loads {@code files} in one child JVM working in {@code workDir}, killing it after {@code timeoutS}. */
    static ChildJvm load(Path workDir, List<Path> files, long timeoutS) {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-XX:ErrorFile=" + workDir.resolve("hs_err_pid%p.log"),
                "-cp", System.getProperty("java.class.path"), LoadInChildJvm.class.getName()));
        files.forEach(f -> cmd.add(f.toString()));
        try {
            Path log = Files.createTempFile(workDir, "child", ".out");
            Process p = new ProcessBuilder(cmd).directory(workDir.toFile()).redirectErrorStream(true)
                    .redirectOutput(log.toFile()).start();
            int exit;
            if (p.waitFor(timeoutS, TimeUnit.SECONDS)) {
                exit = p.exitValue();
            } else {
                p.destroyForcibly().waitFor();
                exit = -1;
            }
            String out = Files.readString(log);
            Map<String, String> results = new LinkedHashMap<>();
            String current = null;
            for (String line : out.lines().toList()) {
                if (line.startsWith("BEGIN ")) {
                    current = line.substring(6);
                } else if (current != null && (line.startsWith("ERROR ") || line.startsWith("LOADED ")
                        || line.startsWith("OTHER "))) {
                    results.put(current, line);
                    current = null;
                }
            }
            List<Path> crashLogs;
            try (Stream<Path> s = Files.list(workDir)) {
                crashLogs = s.filter(f -> f.getFileName().toString().startsWith("hs_err")).toList();
            }
            return new ChildJvm(exit, out, results, crashLogs);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** @return the file whose load was under way when the child stopped, or null */
    String lastBegun() {
        List<String> begun = output.lines().filter(l -> l.startsWith("BEGIN ")).toList();
        return begun.isEmpty() ? null : begun.getLast().substring(6);
    }
}
