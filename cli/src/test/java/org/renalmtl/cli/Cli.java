package org.renalmtl.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;
import picocli.CommandLine;

/**
 * Runs {@code renal-mtl} in this JVM, as {@link Main#main} does but without {@code System.exit}, and
 * captures what it prints. Commands print to {@code System.out}/{@code System.err} as well as to
 * picocli's writers, so both are redirected for the duration of one command.
 */
final class Cli {
    /** Kept strongly reachable, as in {@link Main}: JavaCPP's version warning is not part of the CLI's output. */
    private static final Logger BYTEDECO = Logger.getLogger("org.bytedeco");

    static {
        // What the launcher passes (-Dorg.bytedeco.javacpp.logger=slf4j) and Main.main sets.
        System.setProperty("org.bytedeco.javacpp.logger", "slf4j");
        BYTEDECO.setLevel(Level.SEVERE);
    }

    private Cli() {}

    /** The outcome of one command. */
    record Run(List<String> args, int code, String out, String err) {
        @Override
        public String toString() {
            return "renal-mtl " + String.join(" ", args) + "\n-> exit " + code + "\n--- stdout:\n" + out + "--- stderr:\n"
                    + err;
        }
    }

    /** Runs one command in-process. */
    static synchronized Run run(Object... args) {
        String[] a = Arrays.stream(args).map(Object::toString).toArray(String[]::new);
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
                PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            System.setOut(o);
            System.setErr(e);
            CommandLine cl = Main.commandLine();
            cl.setOut(new PrintWriter(o, true));
            cl.setErr(new PrintWriter(e, true));
            int code = cl.execute(a);
            o.flush();
            e.flush();
            return new Run(List.of(a), code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    /** Runs one command and requires exit code 0. */
    static Run ok(Object... args) {
        Run r = run(args);
        assertEquals(0, r.code(), r::toString);
        return r;
    }

    /**
     * Requires exit code 2 and exactly one stderr line "renal-mtl: error: PREFIX..." containing every
     * phrase, and nothing on stdout.
     *
     * @param prefix what the message must start with after "renal-mtl: error: " (usually "FILE: ")
     */
    static void assertInputError(Run r, String prefix, String... phrases) {
        assertEquals(2, r.code(), r::toString);
        List<String> lines = r.err().lines().filter(l -> !l.isBlank()).toList();
        assertEquals(1, lines.size(), () -> "stderr must be one line:\n" + r);
        String line = lines.getFirst();
        assertTrue(line.startsWith("renal-mtl: error: " + prefix), () -> "expected 'renal-mtl: error: " + prefix + "':\n" + r);
        for (String p : phrases) {
            assertTrue(line.contains(p), () -> "error line lacks '" + p + "':\n" + r);
        }
        assertEquals("", r.out(), () -> "nothing may go to stdout on an input error:\n" + r);
    }

    /** Every file under {@code dir}, relative, sorted (to show that a failed command left nothing behind). */
    static List<String> listing(Path dir) {
        try (var s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).map(p -> dir.relativize(p).toString()).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Runs an external program, returning its exit code and combined output. */
    static Run exec(Path workDir, List<String> command) {
        try {
            Process p = new ProcessBuilder(command).directory(workDir.toFile()).start();
            p.getOutputStream().close();
            var errF = java.util.concurrent.CompletableFuture.supplyAsync(() -> readAll(p.getErrorStream()));
            String out = readAll(p.getInputStream());
            if (!p.waitFor(300, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("timed out: " + command);
            }
            return new Run(new ArrayList<>(command), p.exitValue(), out, errF.join());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static String readAll(java.io.InputStream in) {
        try {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
