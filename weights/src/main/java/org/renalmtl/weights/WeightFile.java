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
import org.renalmtl.weights.hdf5.DatasetInfo;
import org.renalmtl.weights.hdf5.Hdf5Exception;
import org.renalmtl.weights.hdf5.Hdf5File;

/**
 * A weight file, read and checked completely before any compute: the config parses, every tensor
 * it implies exists with its exact shape and finite values, and nothing else is in the file.
 * Tensors live off-heap, owned by this object: the small ones in one block, each large one
 * ({@value #OWN_MEMORY_BYTES} bytes or more: the conv and linear weights, nearly all of the model) in
 * memory of its own, so that a backend that packs the weights into its own layouts can {@link #release}
 * each as soon as it is packed, instead of holding the whole model twice until the last one is.
 */
public final class WeightFile implements AutoCloseable {
    /** Root attribute holding the JSON config. */
    public static final String CONFIG_ATTRIBUTE = "renal_mtl_config";

    /**
     * The largest magnitude a stored value may have. Trained networks hold weights and BatchNorm
     * statistics far below it (a running variance of raw HU is about 1e6); a value above it is a
     * corrupted exponent bit, and it would overflow float32 inside the network, where ReLU and pooling
     * can flatten the infinities into a plausible probability.
     */
    static final float MAX_MAGNITUDE = 1e10f;

    /** Tensors of at least this many bytes get memory of their own, which {@link #release} frees. */
    static final long OWN_MEMORY_BYTES = 64 * 1024;

    private final Path path;
    private final ModelConfig config;
    private final Arena arena; // the small tensors' block
    private final Map<Long, Arena> own; // address → the memory of a large tensor, until released
    private final Map<String, Tensor> tensors; // name → tensor, in TensorLayout order

    private WeightFile(Path path, ModelConfig config, Arena arena, Map<Long, Arena> own, Map<String, Tensor> tensors) {
        this.path = path;
        this.config = config;
        this.arena = arena;
        this.own = own;
        this.tensors = tensors;
    }

    /**
     * Reads and checks a weight file.
     *
     * @throws WeightFormatException naming the file and every problem found
     */
    public static WeightFile load(Path path) {
        try (Hdf5File h5 = Hdf5File.open(path)) {
            // Structure first: it follows hard links only, so every name looked up below is a plain dataset.
            Hdf5File.Structure structure = h5.structure();
            if (!structure.problems().isEmpty()) {
                throw new WeightFormatException(path, structure.problems());
            }
            ModelConfig config = readConfig(h5);
            Map<String, long[]> expected = TensorLayout.expected(config);
            long fileSize = h5.fileSize();
            // Checked before any allocation: the config alone must not make the reader allocate more than
            // the file could hold (every stored element takes at least the 2 bytes of a float16).
            long minStored = 2 * TensorLayout.parameterCount(config);
            if (minStored > fileSize) {
                throw new WeightFormatException(path, "the config implies " + TensorLayout.parameterCount(config)
                        + " parameters (at least " + minStored + " bytes) but the file has only " + fileSize + " bytes");
            }
            List<String> problems = new ArrayList<>();
            Set<String> present = new TreeSet<>(structure.datasets());
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
            List<String> unreadable = new ArrayList<>();
            List<long[]> ranges = new ArrayList<>();
            for (Map.Entry<String, long[]> e : expected.entrySet()) {
                if (!present.contains(e.getKey())) {
                    continue;
                }
                DatasetInfo info = h5.info(e.getKey());
                if (!info.isFloat()) {
                    misshaped.add(e.getKey() + " is not floating point");
                } else if (!info.ieee() || (info.bytesPerElement() != 4 && info.bytesPerElement() != 2)) {
                    misshaped.add(e.getKey() + " is a " + 8 * info.bytesPerElement()
                            + "-bit float, expected IEEE float32 or float16");
                } else if (!Arrays.equals(info.shape(), e.getValue())) {
                    misshaped.add(e.getKey() + " has shape " + Arrays.toString(info.shape()) + ", expected "
                            + Arrays.toString(e.getValue()));
                } else if (info.storageProblem() != null) {
                    unreadable.add(e.getKey() + " " + info.storageProblem());
                } else {
                    ranges.addAll(info.storageRanges());
                }
            }
            if (!misshaped.isEmpty()) {
                problems.add("misshaped: " + abbreviate(misshaped));
            }
            if (!unreadable.isEmpty()) {
                problems.add("unreadable: " + abbreviate(unreadable));
            }
            String overlap = overlap(ranges);
            if (overlap != null) {
                problems.add(overlap);
            }
            if (!problems.isEmpty()) {
                throw new WeightFormatException(path, problems);
            }
            return read(path, h5, config, expected);
        } catch (Hdf5Exception e) {
            throw new WeightFormatException(path, e.getMessage().substring(path.toString().length() + 2));
        }
    }

    /**
     * Two tensors whose bytes overlap would let a small file describe more data than it holds (and
     * would make the total read unbounded by the file size): every byte range must be its own.
     */
    private static String overlap(List<long[]> ranges) {
        ranges.sort((a, b) -> Long.compare(a[0], b[0]));
        for (int i = 1; i < ranges.size(); i++) {
            long[] prev = ranges.get(i - 1);
            if (ranges.get(i)[0] < prev[0] + prev[1]) {
                return "tensors share storage (data at byte " + ranges.get(i)[0] + " belongs to two tensors)";
            }
        }
        return null;
    }

    private static WeightFile read(Path path, Hdf5File h5, ModelConfig config, Map<String, long[]> expected) {
        Arena arena = Arena.ofShared();
        Map<Long, Arena> own = new LinkedHashMap<>();
        try {
            long small = 0;
            for (long[] shape : expected.values()) {
                long bytes = TensorLayout.elements(shape) * Float.BYTES;
                small += bytes >= OWN_MEMORY_BYTES ? 0 : TensorLayout.align(bytes);
            }
            MemorySegment block = arena.allocate(Math.max(small, 64), 64);
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            List<String> nonFinite = new ArrayList<>();
            List<String> negativeVariance = new ArrayList<>();
            List<String> huge = new ArrayList<>();
            long offset = 0;
            for (Map.Entry<String, long[]> e : expected.entrySet()) {
                long n = TensorLayout.elements(e.getValue());
                MemorySegment seg;
                if (n * Float.BYTES >= OWN_MEMORY_BYTES) {
                    Arena mine = Arena.ofShared();
                    try {
                        seg = mine.allocate(n * Float.BYTES, 64);
                    } catch (RuntimeException | OutOfMemoryError oom) {
                        mine.close();
                        throw oom;
                    }
                    own.put(seg.address(), mine);
                } else {
                    seg = block.asSlice(offset, n * Float.BYTES);
                    offset += TensorLayout.align(n * Float.BYTES);
                }
                h5.readFloats(e.getKey(), seg);
                if (!allFinite(seg, n)) {
                    nonFinite.add(e.getKey());
                } else if (e.getKey().endsWith(".running_var") && !allNonNegative(seg, n)) {
                    negativeVariance.add(e.getKey());
                } else if (!allBelow(seg, n, MAX_MAGNITUDE)) {
                    huge.add(e.getKey());
                }
                tensors.put(e.getKey(), new Tensor(e.getKey(), e.getValue(), seg));
            }
            if (!nonFinite.isEmpty()) {
                throw new WeightFormatException(path, "non-finite values (NaN or Inf) in " + abbreviate(nonFinite));
            }
            if (!negativeVariance.isEmpty()) {
                // BatchNorm divides by sqrt(var + eps): a negative variance turns the whole layer into NaN.
                throw new WeightFormatException(path, "negative BatchNorm variance in " + abbreviate(negativeVariance));
            }
            if (!huge.isEmpty()) {
                throw new WeightFormatException(path, "values of magnitude above 1e10 in " + abbreviate(huge)
                        + " (a corrupted exponent bit? they overflow float32 inside the network)");
            }
            return new WeightFile(path, config, arena, own, Collections.unmodifiableMap(tensors));
        } catch (RuntimeException e) {
            closeAll(arena, own);
            throw e;
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
        return ConfigParser.parse(h5.readStringAttribute(CONFIG_ATTRIBUTE, ConfigLimits.CONFIG_BYTES), h5.path());
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

    private static boolean allBelow(MemorySegment seg, long n, float limit) {
        for (long i = 0; i < n; i++) {
            if (Math.abs(seg.getAtIndex(ValueLayout.JAVA_FLOAT, i)) > limit) {
                return false;
            }
        }
        return true;
    }

    private static boolean allNonNegative(MemorySegment seg, long n) {
        for (long i = 0; i < n; i++) {
            if (seg.getAtIndex(ValueLayout.JAVA_FLOAT, i) < 0) {
                return false;
            }
        }
        return true;
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

    /**
     * Frees a large tensor's memory now, for a caller that holds its values elsewhere (packed into a
     * backend's layout); the tensors in this memory must not be read again. Memory that is not a large
     * tensor's of this file (a small tensor, another owner's, one released already) is left alone, to be
     * freed by {@link #close}.
     *
     * @param data a tensor's data (or any view starting where it does)
     */
    public synchronized void release(MemorySegment data) {
        Arena a = own.remove(data.address());
        if (a != null) {
            a.close();
        }
    }

    @Override
    public synchronized void close() {
        closeAll(arena, own);
    }

    private static void closeAll(Arena arena, Map<Long, Arena> own) {
        if (arena.scope().isAlive()) {
            arena.close();
        }
        for (Arena a : own.values()) {
            a.close();
        }
        own.clear();
    }
}
