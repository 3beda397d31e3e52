package org.renalmtl.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.renalmtl.engine.BuiltinModels;
import org.renalmtl.pipeline.EngineVersion;

/**
 * The CLI in a JVM of its own, started with the launcher's JVM flags (read from {@code ./renal-mtl}
 * itself) and this build's class path, so that {@code System.exit}, stream flushing and the logging
 * set-up are what a user gets. (Running the script itself would rebuild the reactor from inside its
 * own test phase.)
 */
class LauncherTest {
    @TempDir
    Path dir;

    /** The JVM options of the launcher's {@code exec java ... -cp} line. */
    static List<String> launcherFlags() throws IOException {
        Path script = null;
        for (Path p = Path.of("").toAbsolutePath(); p != null && script == null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("renal-mtl")) && Files.isDirectory(p.resolve("cli"))) {
                script = p.resolve("renal-mtl");
            }
        }
        assertTrue(script != null, "launcher ./renal-mtl not found");
        String text = Files.readString(script).replace("\\\n", " ");
        Matcher m = Pattern.compile("exec \"\\$JAVA_HOME/bin/java\"(.*?)-cp ").matcher(text);
        assertTrue(m.find(), "no exec line in " + script);
        List<String> flags = new ArrayList<>();
        for (String f : m.group(1).trim().split("\\s+")) {
            flags.add(f);
        }
        assertTrue(flags.contains("--enable-native-access=ALL-UNNAMED"), flags::toString);
        return flags;
    }

    /** Runs the CLI in its own JVM with the launcher's flags, in this test's directory. */
    static Cli.Run launch(Path workDir, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.addAll(launcherFlags());
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(List.of(args));
        return Cli.exec(workDir, cmd);
    }

    private Cli.Run launch(String... args) throws IOException {
        return launch(dir, args);
    }

    @Test
    void badModelExitsTwoWithOneLineAndNothingElse() throws IOException {
        Path text = Files.writeString(dir.resolve("model.h5"), "not a model\n");
        Cli.Run r = launch("inspect", text.toString());
        assertEquals(2, r.code(), r::toString);
        // Exactly one line: no JavaCPP version warning, no HDF5 error stack, no stack trace.
        assertEquals("renal-mtl: error: " + text + ": not an HDF5 file (no HDF5 signature at offset 0)\n", r.err(),
                r::toString);
        assertEquals("", r.out(), r::toString);
    }

    @Test
    void anErrorAfterTheDeviceFallbackIsStillTheOnlyLine() throws IOException {
        Path model = dir.resolve("M.h5");
        BuiltinModels.write(BuiltinModels.Kind.MTDL, 1, model);
        // auto falls back to the CPU (a log line) before the missing phases are noticed: only the error is shown.
        Cli.Run r = launch("predict", "--model", model.toString(), "--out", dir.resolve("r.json").toString());
        assertEquals(2, r.code(), r::toString);
        assertEquals("renal-mtl: error: missing phase(s) for this model: --arterial, --venous, --delayed\n", r.err(),
                r::toString);
        assertEquals("", r.out(), r::toString);
    }

    @Test
    void demoRunsToTheEnd() throws IOException {
        Cli.Run r = launch("demo", "--runs", "0", "--device", "cpu");
        assertEquals(0, r.code(), r::toString);
        assertEquals(3, r.out().lines().filter(l -> l.matches("\\s+(ccrcc|stage|renal)\\s+p = \\d\\.\\d{4}\\s+-> .*")).count(),
                r::toString);
        assertEquals("", r.err(), r::toString);
    }

    @Test
    void versionAndUsage() throws IOException {
        Cli.Run v = launch("--version");
        assertEquals(0, v.code(), v::toString);
        assertEquals("renal-mtl " + EngineVersion.VERSION + "\n", v.out());
        Cli.Run u = launch("predict");
        assertEquals(2, u.code(), u::toString);
        assertTrue(u.err().contains("Missing required options"), u::toString);
    }
}
