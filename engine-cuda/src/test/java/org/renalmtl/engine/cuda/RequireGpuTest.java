package org.renalmtl.engine.cuda;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.opentest4j.AssertionFailedError;
import org.opentest4j.TestAbortedException;

/**
 * {@value RequireGpu#VARIABLE} turns every skip of a GPU test into a failure that names the reason,
 * and without it the same tests skip. The whole package (less the {@value RequireGpu#CPU_ONLY}
 * tests, as the GPU run does) runs twice in child JVMs ({@link SuiteOutcomes}) with the GPU hidden
 * ({@code CUDA_VISIBLE_DEVICES} empty, so a GPU host shows it too) and without
 * {@code renalmtl.fixtures}: once with the variable, once without. Tagged {@value RequireGpu#CPU_ONLY}:
 * it tests the machine without a GPU, and the GPU run's class path is not the child's.
 */
@Tag(RequireGpu.CPU_ONLY)
class RequireGpuTest {
    /** unique id → "STATUS\treason" of each run; filled once. */
    private static Map<String, String> required;
    private static Map<String, String> relaxed;

    @BeforeAll
    static void runTwice() throws IOException, InterruptedException {
        required = outcomes(true);
        relaxed = outcomes(false);
    }

    @Test
    void withTheVariableNoTestSkipsAndEveryGpuTestFailsNamingTheReason() {
        List<String> failed = ids(required, "FAILED");
        assertTrue(failed.size() >= 20, () -> "GPU tests failed: " + failed.size() + " of " + required);
        assertEquals(List.of(), ids(required, "ABORTED"), "aborted with the variable set");
        assertEquals(List.of(), ids(required, "SKIPPED"), "skipped with the variable set");
        String prefix = RequireGpu.VARIABLE + " is set, so this GPU test may not skip: ";
        for (String id : failed) {
            String reason = required.get(id).substring("FAILED\t".length());
            // Every GPU test checks the device first, so that is the reason named here; the other
            // reasons (fixtures, oneDNN) go through the same helper, tested below.
            assertTrue(reason.startsWith(prefix + "no GPU: ") && reason.length() > (prefix + "no GPU: ").length(),
                    () -> id + " fails for another reason: " + reason);
        }
        assertTrue(ids(required, "SUCCESSFUL").size() >= 10, "the tests that need no GPU still pass");
    }

    @Test
    void withoutTheVariableTheSameTestsSkipWithTheSameReasons() {
        assertEquals(List.of(), ids(relaxed, "FAILED"), "failed without the variable");
        assertEquals(ids(required, "FAILED"), ids(relaxed, "ABORTED"), "the tests that fail with the variable skip without it");
        String prefix = "FAILED\t" + RequireGpu.VARIABLE + " is set, so this GPU test may not skip: ";
        for (String id : ids(relaxed, "ABORTED")) {
            assertEquals(required.get(id), prefix + relaxed.get(id).substring("ABORTED\t".length()), id);
        }
        assertEquals(ids(required, "SUCCESSFUL"), ids(relaxed, "SUCCESSFUL"));
    }

    @Test
    void theHelperFailsOnlyWhenRequiredAndTheConditionDoesNotHold() {
        assertDoesNotThrow(() -> RequireGpu.that(true, true, () -> "unused"));
        assertDoesNotThrow(() -> RequireGpu.that(false, true, () -> "unused"));
        TestAbortedException skip = assertThrows(TestAbortedException.class,
                () -> RequireGpu.that(false, false, () -> "no oneDNN"));
        assertTrue(skip.getMessage().contains("no oneDNN"), skip.getMessage());
        AssertionFailedError fail = assertThrows(AssertionFailedError.class,
                () -> RequireGpu.that(true, false, () -> "no oneDNN"));
        assertEquals(RequireGpu.VARIABLE + " is set, so this GPU test may not skip: no oneDNN", fail.getMessage());
    }

    @Test
    void anyValueButEmptyOrZeroRequires() {
        assertFalse(RequireGpu.required(null));
        assertFalse(RequireGpu.required(""));
        assertFalse(RequireGpu.required(" "));
        assertFalse(RequireGpu.required("0"));
        assertTrue(RequireGpu.required("1"));
        assertTrue(RequireGpu.required("yes"));
    }

    private static List<String> ids(Map<String, String> outcomes, String status) {
        return outcomes.entrySet().stream().filter(e -> e.getValue().startsWith(status + "\t")).map(Map.Entry::getKey)
                .collect(Collectors.toList());
    }

    /** Runs {@link SuiteOutcomes} in a child JVM with the GPU hidden; {@code require}: with the variable. */
    private static Map<String, String> outcomes(boolean require) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-Xmx1g", "-cp", System.getProperty("java.class.path"),
                SuiteOutcomes.class.getName()));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().put("CUDA_VISIBLE_DEVICES", "");
        if (require) {
            pb.environment().put(RequireGpu.VARIABLE, "1");
        } else {
            pb.environment().remove(RequireGpu.VARIABLE);
        }
        Path log = Files.createTempFile("require-gpu", ".log");
        String output;
        try {
            Process p = pb.redirectOutput(log.toFile()).start();
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor();
            }
            output = Files.readString(log, StandardCharsets.UTF_8);
            assertEquals(0, p.exitValue(), () -> "child JVM:\n" + output);
        } finally {
            Files.delete(log);
        }
        Map<String, String> outcomes = new TreeMap<>();
        for (String line : output.split("\n")) {
            if (line.startsWith(SuiteOutcomes.PREFIX)) {
                String[] f = line.substring(SuiteOutcomes.PREFIX.length()).split("\t", 3);
                outcomes.put(f[1], f[0] + "\t" + (f.length > 2 ? f[2] : ""));
            }
        }
        assertFalse(outcomes.isEmpty(), () -> "no outcomes from the child JVM:\n" + output);
        return outcomes;
    }
}
