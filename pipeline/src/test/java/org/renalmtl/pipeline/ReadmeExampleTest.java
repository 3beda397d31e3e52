package org.renalmtl.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.renalmtl.engine.BuiltinModels;
import org.renalmtl.engine.Device;
import org.renalmtl.engine.Model;
import org.renalmtl.engine.Prediction;
import org.renalmtl.loader.phantom.Phantom;
import org.renalmtl.loader.phantom.PhantomCase;
import org.renalmtl.loader.phantom.PhantomOptions;

/**
 * The README's Java example, taken from README.md as it stands, compiled and run in its own JVM on a
 * phantom case and a seeded model file; its report must equal what this pipeline gives in-process on
 * the same files.
 */
class ReadmeExampleTest {
    private static final String MARKER = "<!-- readme-example:";

    @TempDir
    Path dir;

    @Test
    void readmeExampleCompilesRunsAndAgreesWithThePipeline() throws Exception {
        String source = exampleFromReadme(Path.of("../README.md"));
        List<Path> files;
        try (PhantomCase phantom = Phantom.generate(7, PhantomOptions.defaults())) {
            files = phantom.writeTo(dir);
        }
        Path weights = dir.resolve("model.h5");
        BuiltinModels.write(BuiltinModels.Kind.MTDL, 7, weights);

        Path src = dir.resolve("src/Example.java");
        Files.createDirectories(src.getParent());
        Files.writeString(src, source);
        Path classes = Files.createDirectories(dir.resolve("classes"));
        String cp = System.getProperty("java.class.path");
        int javac = ToolProvider.getSystemJavaCompiler().run(null, null, null,
                "-Xlint:all,-path", "-Werror", "-cp", cp, "-d", classes.toString(), src.toString());
        // -path: the bytedeco jars name a javacpp.jar beside them in their manifests, which Maven does not keep.
        assertEquals(0, javac, "the README example must compile warning-free");

        Path javaBin = Path.of(System.getProperty("java.home"), "bin", "java");
        Process p = new ProcessBuilder(javaBin.toString(), "--enable-native-access=ALL-UNNAMED",
                "-cp", classes + File.pathSeparator + cp, "Example")
                .directory(dir.toFile()).start();
        p.getOutputStream().close();
        CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> read(p.getErrorStream()));
        String out = read(p.getInputStream());
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), "the example timed out");
        assertEquals(0, p.exitValue(), () -> "example failed:\n" + out + err.join());

        JsonNode report = new ObjectMapper().readTree(dir.resolve("report.json").toFile());
        try (Model model = Model.load(weights, Device.CPU)) {
            CaseReport expected = CasePipeline.of(model, weights).run(files.subList(0, 3), files.get(3));
            for (Prediction.TaskResult t : expected.prediction().tasks()) {
                assertEquals(t.probability(), report.get("tasks").get(t.task()).get("probability").asDouble(), 1e-6,
                        t.task());
                assertTrue(out.contains(t.task() + ": p = "), () -> "stdout lacks " + t.task() + ":\n" + out);
            }
            assertEquals(expected.tumour().volumeMl(), report.get("tumour").get("volume_ml").asDouble(), 1e-9);
            assertEquals(expected.source().modelSha256(), report.get("model").get("sha256").asText());
        }
    }

    /** The first ```java block after the marker comment in the README. */
    static String exampleFromReadme(Path readme) throws IOException {
        List<String> lines = Files.readAllLines(readme);
        int i = 0;
        while (i < lines.size() && !lines.get(i).startsWith(MARKER)) {
            i++;
        }
        assertTrue(i < lines.size(), "README.md lacks the " + MARKER + " marker");
        assertEquals("```java", lines.get(i + 1), "the marker must be followed by a ```java block");
        List<String> code = new ArrayList<>();
        for (int j = i + 2; !lines.get(j).equals("```"); j++) {
            code.add(lines.get(j));
        }
        return String.join("\n", code) + "\n";
    }

    private static String read(InputStream in) {
        try {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
