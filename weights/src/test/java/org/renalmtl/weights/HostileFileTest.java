package org.renalmtl.weights;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * The hostile files of issue 9, made by {@code src/test/resources/hostile/make_hostile.py} from a
 * valid tiny model: each must be refused with one {@link WeightFormatException} whose one-line
 * message starts with the file and names the problem. They are loaded in a child JVM because before
 * the strict reader they crashed the JVM (overflowed attribute buffers), hung it (an external file
 * that is a FIFO), or ran it out of stack or memory (links); the child must exit normally, well within
 * its timeout, and leave no hs_err crash log.
 */
class HostileFileTest {
    /** Seconds for one child JVM; all files load in about 5 s on one core. */
    private static final long TIMEOUT_S = 120;

    private static final String VICTIM = "head.towers.0.out.weight";

    /** Case → phrases its message must contain; null: the file is valid and must load. */
    private static final Map<String, List<String>> CASES = new LinkedHashMap<>();

    /**
     * Files the fuzzers made (weights/README.md, "Fuzzing"), committed in {@code src/test/resources/hostile/}:
     * case → phrases its message must contain.
     */
    private static final Map<String, List<String>> COMMITTED = new LinkedHashMap<>();

    private static void expect(String name, String... phrases) {
        CASES.put(name, List.of(phrases));
    }

    static {
        String attr = "attribute 'renal_mtl_config' ";
        expect("attr-fixed-array-2", attr + "is an array of 2 strings, expected one string");
        expect("attr-fixed-array-30", attr + "is an array of 30 strings");
        expect("attr-fixed-array-64", attr + "is an array of 64 strings");
        expect("attr-vlen-array-2", attr + "is an array of 2 strings");
        expect("attr-vlen-array-1000", attr + "is an array of 1000 strings");
        expect("attr-null-space", attr + "has no value (null dataspace)");
        expect("attr-fixed-null-space", attr + "has no value (null dataspace)");
        expect("attr-vlen-null", attr + "is a null string");
        expect("attr-fixed-too-long", attr + "is a fixed-length string of 1048577 bytes (at most 1048576)");
        expect("attr-vlen-too-long", attr + "is longer than 1048576 bytes");
        String external = VICTIM + " is stored in an external file";
        expect("external-fifo", external);
        expect("external-dev-zero", external);
        expect("external-dev-urandom", external);
        expect("unwritten", VICTIM + " was never written");
        expect("unwritten-chunked", VICTIM + " was never written");
        expect("partly-written-chunks", VICTIM + " was only partly written");
        expect("virtual", VICTIM + " is a virtual dataset");
        expect("gzip", VICTIM + " is compressed or filtered");
        expect("float64", VICTIM + " is a 64-bit float, expected IEEE float32 or float16");
        expect("null-space-tensor", VICTIM + " has shape [], expected [1, 4]");
        CASES.put("big-endian", null);
        expect("shared-storage", "tensors share storage");
        String second = "is a second hard link to an object already seen (link cycle or alias)";
        expect("hard-link-cycle", "'g/loop' " + second);
        expect("hard-link-to-root", "'g/root' " + second);
        expect("hard-link-alias", second);
        expect("soft-link-to-root", "'g' is a soft link (not followed");
        expect("soft-link-tensor", "'" + VICTIM + "' is a soft link");
        expect("external-link-self", "'self' is an external link to another file (not followed)");
        expect("external-link-tensor", "'" + VICTIM + "' is an external link");
        expect("deep-groups", "is nested deeper than 8 levels");
        expect("trailing-junk", "config is not valid JSON: Trailing token");
        expect("duplicate-key", "config is not valid JSON: Duplicate field 'name'");
        expect("format-version-1.5", "unsupported format_version 1.5 (this engine reads versions 1 to 2)");
        expect("format-version-string", "config 'format_version' must be an integer from 1 to 2, got \"1\"");
        expect("margin-string", "input 'margin_mm' must be a finite number, got \"ten\"");
        expect("fractional-size", "input 'size'[1] must be an integer, got 16.5");
        expect("duplicate-task", "task name 'ccrcc' is used twice");
        expect("huge-ple", "PLE 'levels' must be ≤ 8, got 100000", "PLE 'task_experts' must be ≤ 32");
        expect("huge-input", "input 'size'[0] must be ≤ 1024, got 100000");
        expect("too-many-parameters", "parameters (at most 2147483647)");
        expect("more-tensor-bytes-than-file", "the config implies", "but the file has only");
        String heap = "damaged global heap collection at byte ";
        expect("gcol-free-space-size-0", heap, "(free-space object of 0 bytes at byte ");
        expect("gcol-object-runs-past-end", heap, "(object 1 of 1099511627776 bytes runs past the collection's end)");
        expect("gcol-object-size-not-reference-length", "bytes, its global heap object 1 at byte ");
        expect("gcol-reference-shorter", "claims 10 bytes, its global heap object 1 at byte ");
        expect("gcol-reference-index-0", "names object 0, which the global heap collection at byte ");
        expect("gcol-reference-index-absent", "names object 77, which the global heap collection at byte ");
        COMMITTED.put("fuzz-gcol-free-space-size-0", List.of(heap, "(free-space object of 0 bytes at byte 3328)"));
    }

    @TempDir
    Path dir;

    @TestFactory
    Stream<DynamicTest> everyHostileFileIsRefusedInAChildJvmThatNeitherCrashesNorHangs() throws IOException {
        Path valid = dir.resolve("valid.h5");
        TinyModel.writeValid(valid, 9);
        List<String> made = TinyModel.script("/hostile/make_hostile.py", valid.toString(), dir.toString()).lines()
                .toList();
        assertEquals(new TreeSet<>(CASES.keySet()), new TreeSet<>(made),
                "make_hostile.py and this test must list the same cases");
        List<Path> files = new ArrayList<>();
        made.forEach(m -> files.add(dir.resolve(m + ".h5")));
        for (String name : COMMITTED.keySet()) {
            Path file = dir.resolve(name + ".h5");
            try (var in = HostileFileTest.class.getResourceAsStream("/hostile/" + name + ".h5")) {
                assertNotNull(in, "committed file hostile/" + name + ".h5");
                Files.copy(in, file);
            }
            files.add(file);
        }
        // One child for all files (JVM start-up dominates); if it dies, the file it was loading is
        // marked and a fresh child goes on with the rest, so each case is judged on its own.
        Map<String, String> results = new LinkedHashMap<>();
        List<String> failures = new ArrayList<>();
        List<Path> remaining = files;
        while (!remaining.isEmpty()) {
            ChildJvm child = ChildJvm.load(dir, remaining, TIMEOUT_S);
            results.putAll(child.results());
            if (child.exitCode() == 0 && child.crashLogs().isEmpty()) {
                break;
            }
            String culprit = child.lastBegun();
            String what = child.exitCode() == -1 ? "HUNG (killed after " + TIMEOUT_S + " s)"
                    : "CRASHED (exit " + child.exitCode() + ", crash logs " + child.crashLogs() + ")";
            failures.add(culprit + " " + what);
            if (culprit == null || child.results().containsKey(culprit)) {
                break; // died outside a load: nothing more to attribute
            }
            results.put(culprit, what);
            int at = remaining.indexOf(Path.of(culprit));
            remaining = remaining.subList(at + 1, remaining.size());
            for (Path log : child.crashLogs()) {
                Files.move(log, log.resolveSibling("crash-" + log.getFileName())); // judged; keep it for a look
            }
        }

        List<DynamicTest> tests = new ArrayList<>();
        tests.add(DynamicTest.dynamicTest("no child JVM crashed or hung",
                () -> assertEquals(List.of(), failures)));
        Map<String, List<String>> all = new LinkedHashMap<>(CASES);
        all.putAll(COMMITTED);
        for (Map.Entry<String, List<String>> c : all.entrySet()) {
            Path file = dir.resolve(c.getKey() + ".h5");
            tests.add(DynamicTest.dynamicTest(c.getKey(), () -> {
                String line = results.get(file.toString());
                assertNotNull(line, "no result for " + file);
                if (c.getValue() == null) {
                    assertTrue(line.startsWith("LOADED "), line);
                    return;
                }
                assertTrue(line.startsWith("ERROR " + file + ": "), "message must start with the file: " + line);
                for (String phrase : c.getValue()) {
                    assertTrue(line.contains(phrase), "message lacks '" + phrase + "': " + line);
                }
            }));
        }
        return tests.stream();
    }
}
