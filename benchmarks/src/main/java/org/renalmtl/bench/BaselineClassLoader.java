package org.renalmtl.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Enumeration;
import java.util.List;
import java.util.jar.JarFile;
import java.util.stream.Stream;

/**
 * Loads another commit's renal-mtl (its engine and weights jars) beside the current one in the same
 * JVM: every class and resource under {@code org.renalmtl} comes from the given jars only, never from
 * the benchmark's class path (which holds the current engine); everything else (the JDK, JavaCPP and
 * the bytedeco presets, SLF4J, Jackson) comes from the benchmark's class path as usual.
 *
 * <p>Sharing the presets is the point: JavaCPP loads oneDNN's and HDF5's native libraries once per
 * process and binds them to the classes that loaded them, so a second copy of the preset classes
 * would either load the same libraries again or fail; and the baseline is timed on the very oneDNN
 * build the current engine uses, so the comparison measures the engines, not two oneDNN builds.
 * Never falling back to the class path for {@code org.renalmtl} is the other half: a class the
 * baseline jars lack fails to load instead of silently running the current engine's.
 */
public final class BaselineClassLoader extends URLClassLoader {
    static {
        registerAsParallelCapable();
    }

    private static final String OWN_PACKAGES = "org.renalmtl.";
    private static final String OWN_RESOURCES = "org/renalmtl/";
    private static final String OWN_SERVICES = "META-INF/services/org.renalmtl.";
    private static final String MODEL = "org/renalmtl/engine/Model.class";

    /**
     * @param classPath the jars (or class directories) to take {@code org.renalmtl} from
     * @param parent where everything else comes from
     */
    BaselineClassLoader(List<Path> classPath, ClassLoader parent) {
        super("renal-mtl baseline", classPath.stream().map(BaselineClassLoader::url).toArray(URL[]::new), parent);
    }

    /**
     * Opens the engine of another commit.
     *
     * @param dir a directory holding that commit's {@code engine-*.jar} and {@code weights-*.jar} (every
     *     {@code *.jar} in it goes on the class path, so nothing else belongs there)
     * @return a loader over those jars, the benchmark's own loader its parent
     * @throws BenchmarkSetupException if {@code dir} holds no jar or no {@code org.renalmtl.engine.Model}
     */
    public static BaselineClassLoader open(Path dir) {
        return new BaselineClassLoader(jars(dir), BaselineClassLoader.class.getClassLoader());
    }

    /**
     * Checks a baseline directory without loading anything from it, so the launcher can refuse a
     * wrong one before the first forward.
     *
     * @param dir the baseline directory
     * @return its {@code *.jar} files, sorted by name
     * @throws BenchmarkSetupException if {@code dir} is not a directory, holds no jar, a jar cannot be
     *     read, or none holds {@code org.renalmtl.engine.Model}
     */
    static List<Path> jars(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new BenchmarkSetupException(dir + ": no such directory (the baseline is a directory of another"
                    + " commit's engine and weights jars; run-cpu.sh --baseline COMMIT builds one)");
        }
        List<Path> jars;
        try (Stream<Path> files = Files.list(dir)) {
            jars = files.filter(p -> p.getFileName().toString().endsWith(".jar") && Files.isRegularFile(p))
                    .sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir, e);
        }
        if (jars.isEmpty()) {
            throw new BenchmarkSetupException(dir + ": no jar in it (expected another commit's engine-*.jar and"
                    + " weights-*.jar)");
        }
        if (jars.stream().noneMatch(BaselineClassLoader::holdsModel)) {
            throw new BenchmarkSetupException(dir + ": no " + MODEL + " in " + jars.stream()
                    .map(p -> p.getFileName().toString()).toList()
                    + " (it needs another commit's engine and weights jars)");
        }
        return jars;
    }

    private static boolean holdsModel(Path jar) {
        try (JarFile file = new JarFile(jar.toFile())) {
            return file.getEntry(MODEL) != null;
        } catch (IOException e) {
            throw new BenchmarkSetupException(jar + ": not a readable jar (" + e.getMessage() + ")");
        }
    }

    @Override
    protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
        if (!name.startsWith(OWN_PACKAGES)) {
            return super.loadClass(name, resolve);
        }
        synchronized (getClassLoadingLock(name)) {
            Class<?> c = findLoadedClass(name);
            if (c == null) {
                c = findClass(name);
            }
            if (resolve) {
                resolveClass(c);
            }
            return c;
        }
    }

    @Override
    public URL getResource(String name) {
        return own(name) ? findResource(name) : super.getResource(name);
    }

    @Override
    public Enumeration<URL> getResources(String name) throws IOException {
        return own(name) ? findResources(name) : super.getResources(name);
    }

    private static boolean own(String resource) {
        return resource.startsWith(OWN_RESOURCES) || resource.startsWith(OWN_SERVICES);
    }

    private static URL url(Path p) {
        try {
            return p.toUri().toURL();
        } catch (MalformedURLException e) {
            throw new IllegalArgumentException(p + ": not a URL", e);
        }
    }
}
