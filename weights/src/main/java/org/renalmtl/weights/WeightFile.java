package org.renalmtl.weights;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.renalmtl.weights.hdf5.Hdf5Exception;
import org.renalmtl.weights.hdf5.Hdf5File;

/**
 * A weight file, read and checked completely before any compute: the config parses, every tensor
 * it implies exists with its exact shape and finite values, and nothing else is in the file.
 * Tensors live in one off-heap arena owned by this object.
 */
public final class WeightFile implements AutoCloseable {
    /** Root attribute holding the JSON config. */
    public static final String CONFIG_ATTRIBUTE = "renal_mtl_config";

    private final Path path;
    private final ModelConfig config;
    private final Arena arena;
    private final Map<String, Tensor> tensors; // name → tensor, in TensorLayout order

    private WeightFile(Path path, ModelConfig config, Arena arena, Map<String, Tensor> tensors) {
        this.path = path;
        this.config = config;
        this.arena = arena;
        this.tensors = tensors;
    }

    /**
     * Reads and checks a weight file.
     *
     * @throws WeightFormatException naming the file and every problem found
     */
    public static WeightFile load(Path path) {
        try (Hdf5File h5 = Hdf5File.open(path)) {
            ModelConfig config = readConfig(h5);
            Map<String, long[]> expected = TensorLayout.expected(config);
            List<String> problems = new ArrayList<>();
            Set<String> present = new TreeSet<>(h5.datasetNames());
            List<String> missing = new ArrayList<>();
            for (String name : expected.keySet()) {
                if (!present.contains(name)) {
                    missing.add(name);
                }
            }
            List<String> unexpected = new ArrayList<>();
            for (String name : present) {
                if (!expected.containsKey(name)) {
                    unexpected.add(name);
                }
            }
            if (!missing.isEmpty()) {
                problems.add(missing.size() + " missing tensor(s): " + abbreviate(missing));
            }
            if (!unexpected.isEmpty()) {
                problems.add(unexpected.size() + " unexpected tensor(s): " + abbreviate(unexpected));
            }
            List<String> misshaped = new ArrayList<>();
            long bytes = 0;
            for (Map.Entry<String, long[]> e : expected.entrySet()) {
                if (!present.contains(e.getKey())) {
                    continue;
                }
                Hdf5File.DatasetInfo info = h5.info(e.getKey());
                if (!info.isFloat()) {
                    misshaped.add(e.getKey() + " is not floating point");
                } else if (!Arrays.equals(info.shape(), e.getValue())) {
                    misshaped.add(e.getKey() + " has shape " + Arrays.toString(info.shape()) + ", expected "
                            + Arrays.toString(e.getValue()));
                } else {
                    bytes += align(info.elements() * Float.BYTES);
                }
            }
            if (!misshaped.isEmpty()) {
                problems.add("misshaped: " + abbreviate(misshaped));
            }
            if (!problems.isEmpty()) {
                throw new WeightFormatException(path, problems);
            }
            Arena arena = Arena.ofShared();
            try {
                MemorySegment block = arena.allocate(Math.max(bytes, 64), 64);
                Map<String, Tensor> tensors = new LinkedHashMap<>();
                List<String> nonFinite = new ArrayList<>();
                long offset = 0;
                for (Map.Entry<String, long[]> e : expected.entrySet()) {
                    long n = elements(e.getValue());
                    MemorySegment seg = block.asSlice(offset, n * Float.BYTES);
                    offset += align(n * Float.BYTES);
                    h5.readFloats(e.getKey(), seg);
                    if (!allFinite(seg, n)) {
                        nonFinite.add(e.getKey());
                    }
                    tensors.put(e.getKey(), new Tensor(e.getKey(), e.getValue(), seg));
                }
                if (!nonFinite.isEmpty()) {
                    throw new WeightFormatException(path, "non-finite values (NaN or Inf) in " + abbreviate(nonFinite));
                }
                return new WeightFile(path, config, arena, Collections.unmodifiableMap(tensors));
            } catch (RuntimeException e) {
                arena.close();
                throw e;
            }
        } catch (Hdf5Exception e) {
            throw new WeightFormatException(path, e.getMessage().substring(path.toString().length() + 2));
        }
    }

    /**
     * Reads only the config (for {@code inspect} and for planning without weights).
     *
     * @throws WeightFormatException if the file or its config is unusable
     */
    public static ModelConfig readConfig(Path path) {
        try (Hdf5File h5 = Hdf5File.open(path)) {
            return readConfig(h5);
        } catch (Hdf5Exception e) {
            throw new WeightFormatException(path, e.getMessage().substring(path.toString().length() + 2));
        }
    }

    private static ModelConfig readConfig(Hdf5File h5) {
        if (!h5.hasAttribute(CONFIG_ATTRIBUTE)) {
            throw new WeightFormatException(h5.path(),
                    "no '" + CONFIG_ATTRIBUTE + "' attribute: not a renal-mtl weight file (export it with weights/export/export.py)");
        }
        return ConfigParser.parse(h5.readStringAttribute(CONFIG_ATTRIBUTE), h5.path());
    }

    private static String abbreviate(List<String> names) {
        int show = 8;
        String head = String.join(", ", names.subList(0, Math.min(show, names.size())));
        return names.size() > show ? head + ", … (" + (names.size() - show) + " more)" : head;
    }

    private static boolean allFinite(MemorySegment seg, long n) {
        for (long i = 0; i < n; i++) {
            if (!Float.isFinite(seg.getAtIndex(ValueLayout.JAVA_FLOAT, i))) {
                return false;
            }
        }
        return true;
    }

    private static long elements(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    private static long align(long bytes) {
        return (bytes + 63) & ~63L;
    }

    /** @return the file this was read from */
    public Path path() {
        return path;
    }

    /** @return the checked config */
    public ModelConfig config() {
        return config;
    }

    /** @return the tensor of this name; it is guaranteed present once loaded */
    public Tensor tensor(String name) {
        Tensor t = tensors.get(name);
        if (t == null) {
            throw new IllegalArgumentException("no tensor " + name + " in " + path);
        }
        return t;
    }

    /** @return all tensors, in {@link TensorLayout} order */
    public Map<String, Tensor> tensors() {
        return tensors;
    }

    @Override
    public void close() {
        arena.close();
    }
}
