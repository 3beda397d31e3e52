package org.renalmtl.bench;

import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.renalmtl.engine.Model;

/**
 * The baseline loader takes renal-mtl from its own jars and nothing else from them. The current
 * engine's jar stands in for another commit's: what matters is which loader a class comes from, and
 * no native code runs.
 */
class BaselineClassLoaderTest {
    @TempDir
    Path dir;

    @Test
    void renalMtlComesFromTheBaselineJarsAndTheRestFromTheClassPath() throws Exception {
        writeEngineJar(dir.resolve("engine-0.1.0.jar"));
        try (BaselineClassLoader loader = BaselineClassLoader.open(dir)) {
            Class<?> theirs = loader.loadClass(Model.class.getName());
            assertNotSame(Model.class, theirs, "the baseline's Model must not be the current engine's");
            assertSame(loader, theirs.getClassLoader());
            // the presets and SLF4J are shared, so oneDNN's natives load once per JVM
            assertSame(org.bytedeco.javacpp.Loader.class, loader.loadClass("org.bytedeco.javacpp.Loader"));
            assertSame(org.slf4j.Logger.class, loader.loadClass("org.slf4j.Logger"));
            assertTrue(loader.getResource("org/renalmtl/engine/Model.class").toString().contains(dir.toString()));
        }
    }

    @Test
    void renalMtlMissingFromTheBaselineNeverFallsBackToTheCurrentOne() throws Exception {
        writeEngineJar(dir.resolve("engine-0.1.0.jar"));
        try (BaselineClassLoader loader = BaselineClassLoader.open(dir)) {
            // the benchmark's own classes are on the class path but in no baseline jar
            assertThrows(ClassNotFoundException.class, () -> loader.loadClass(Agreement.class.getName()));
            assertNull(loader.getResource("org/renalmtl/bench/Agreement.class"));
        }
    }

    @Test
    void aDirectoryWithoutTheEngineIsRefused() throws IOException {
        try (OutputStream file = Files.newOutputStream(dir.resolve("other.jar"));
                JarOutputStream jar = new JarOutputStream(file)) {
            jar.putNextEntry(new JarEntry("org/example/Other.class"));
        }
        BenchmarkSetupException e = assertThrows(BenchmarkSetupException.class, () -> BaselineClassLoader.open(dir));
        assertTrue(e.getMessage().contains("no org/renalmtl/engine/Model.class in [other.jar]"), e.getMessage());
    }

    @Test
    void anEmptyOrMissingDirectoryIsRefused() {
        assertThrows(BenchmarkSetupException.class, () -> BaselineClassLoader.jars(dir));
        assertThrows(BenchmarkSetupException.class, () -> BaselineClassLoader.jars(dir.resolve("missing")));
        BenchmarkSetupException e = assertThrows(BenchmarkSetupException.class,
                () -> new RenalMtlBaselineForward("", dir.resolve("m.h5"), 1));
        assertTrue(e.getMessage().contains("-p baseline=DIR"), e.getMessage());
    }

    /** Writes the current engine as a jar: the local repository's, or the reactor's classes packed into one. */
    private static void writeEngineJar(Path jar) throws IOException, URISyntaxException {
        Path location = Path.of(Model.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        if (Files.isRegularFile(location)) {
            Files.copy(location, jar);
            return;
        }
        List<Path> files;
        try (Stream<Path> walk = Files.walk(location)) {
            files = walk.filter(Files::isRegularFile).toList();
        }
        try (OutputStream out = Files.newOutputStream(jar); JarOutputStream zip = new JarOutputStream(out)) {
            for (Path f : files) {
                zip.putNextEntry(new JarEntry(location.relativize(f).toString().replace('\\', '/')));
                Files.copy(f, zip);
            }
        }
    }
}
