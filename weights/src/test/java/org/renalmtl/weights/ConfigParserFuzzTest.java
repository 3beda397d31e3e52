package org.renalmtl.weights;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Fuzzes {@link ConfigParser} with Jazzer: whatever the text, parsing ends in a config or in one
 * one-line {@link WeightFormatException} naming the file. Any other exception, an OutOfMemoryError, a
 * slow input or a config that breaks {@link ConfigLimits} after it was accepted is a finding. Plain
 * test runs replay {@code src/test/resources/org/renalmtl/weights/ConfigParserFuzzTestInputs/<method>/}
 * (seeds {@code seed_*}, past findings); weights/README.md says how to fuzz for hours.
 */
class ConfigParserFuzzTest {

    private static final Path SRC = Path.of("fuzz.h5");

    @FuzzTest(maxDuration = "5m")
    void parseEndsInAConfigOrAFormatError(byte[] input) {
        // The reader decodes the attribute as UTF-8 too (StringAttribute), so malformed UTF-8 arrives as U+FFFD.
        String json = new String(input, StandardCharsets.UTF_8);
        ModelConfig config;
        try {
            config = ConfigParser.parse(json, SRC);
        } catch (WeightFormatException e) {
            String m = e.getMessage();
            assertTrue(m.startsWith(SRC + ": "), m);
            assertFalse(m.contains("\n") || m.contains("\r"), m);
            assertFalse(e.problems().isEmpty(), m);
            return;
        }
        accepted(config, json);
    }

    /**
     * An accepted config must be what the limits promise: bounded counts, a layout whose parameter
     * count fits (computed here with overflow checks, unlike the parser's plain sum) and tensors of
     * positive sizes, so a loader may size allocations from it.
     */
    private static void accepted(ModelConfig config, String json) {
        assertEquals(json, config.json());
        assertTrue(config.phases().size() >= 1 && config.phases().size() <= ConfigLimits.PHASES);
        assertTrue(config.tasks().size() >= 1 && config.tasks().size() <= ConfigLimits.TASKS);
        assertTrue(config.networks().size() >= 1 && config.networks().size() <= ConfigLimits.NETWORKS);
        for (int s : config.input().size()) {
            assertTrue(s >= 1 && s <= ConfigLimits.INPUT_SIZE, "input size " + s);
        }
        long params = 0;
        long bytes = 0;
        for (Map.Entry<String, long[]> e : TensorLayout.expected(config).entrySet()) {
            assertFalse(e.getKey().isEmpty());
            long n = 1;
            for (long d : e.getValue()) {
                assertTrue(d >= 1, e.getKey() + " has a dimension " + d);
                n = Math.multiplyExact(n, d);
            }
            params = Math.addExact(params, n);
            bytes = Math.addExact(bytes, TensorLayout.align(Math.multiplyExact(n, Float.BYTES)));
        }
        assertTrue(params <= ConfigLimits.PARAMETERS, params + " parameters accepted");
        assertEquals(params, TensorLayout.parameterCount(config));
        assertEquals(bytes, TensorLayout.loadedBytes(config));
    }

    /** The seeds are valid configs (so fuzzing starts from inputs that parse), each passing the oracle. */
    @Test
    void seedsParse() throws IOException, URISyntaxException {
        Path dir = Path.of(getClass().getResource("ConfigParserFuzzTestInputs/parseEndsInAConfigOrAFormatError").toURI());
        List<Path> seeds;
        try (Stream<Path> s = Files.list(dir)) {
            seeds = s.filter(p -> p.getFileName().toString().startsWith("seed_")).sorted().toList();
        }
        assertEquals(6, seeds.size(), seeds.toString());
        for (Path p : seeds) {
            String json = Files.readString(p);
            accepted(ConfigParser.parse(json, p), json);
        }
    }
}
