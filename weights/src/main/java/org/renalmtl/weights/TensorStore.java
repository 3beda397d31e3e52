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
import java.util.function.Function;
import org.renalmtl.weights.hdf5.DatasetInfo;
import org.renalmtl.weights.hdf5.Hdf5Exception;
import org.renalmtl.weights.hdf5.Hdf5File;

/**
 * The strict reading that every weight-file kind shares (FORMAT.md, "What the reader accepts" and
 * "Validation"): structure, config attribute, the tensors a config implies checked from metadata
 * before any allocation, then read, checked for finite values, and held off-heap. Small tensors share
 * one block; each large one ({@value #OWN_MEMORY_BYTES} bytes or more) has memory of its own that
 * {@link #release} frees. {@link WeightFile} (classifiers) and {@link SegmentationFile} wrap one.
 */
final class TensorStore implements AutoCloseable {
    /**
     * The largest magnitude a stored value may have. Trained networks hold weights and BatchNorm
     * statistics far below it (a running variance of raw HU is about 1e6); a value above it is a
     * corrupted exponent bit, and it would overflow float32 inside the network, where ReLU and pooling
     * can flatten the infinities into a plausible probability.
     */
    static final float MAX_MAGNITUDE = 1e10f;

    /** Tensors of at least this many bytes get memory of their own, which {@link #release} frees. */
    static final long OWN_MEMORY_BYTES = 64 * 1024;

    private final Arena arena; // the small tensors' block
    private final Map<Long, Arena> own; // address → the memory of a large tensor, until released
    private final Map<String, Tensor> tensors; // name → tensor, in layout order

    private TensorStore(Arena arena, Map<Long, Arena> own, Map<String, Tensor> tensors) {
        this.arena = arena;
        this.own = own;
        this.tensors = tensors;
    }

    /**
     * A checked config and its tensors.
     *
     * @param <C> the config type
     * @param config the parsed config
     * @param store its tensors
     */
    record Loaded<C>(C config, TensorStore store) {}

    /**
     * Reads and checks a file of one kind.
     *
     * @param parse the kind's config parser (text, file → config), which refuses other kinds by name
     * @param layout the tensors a config implies, name → shape, in order
     * @throws WeightFormatException naming the file and every problem found
     */
    static <C> Loaded<C> load(Path path, Function<String, C> parse, Function<C, Map<String, long[]>> layout) {
        try (Hdf5File h5 = Hdf5File.open(path)) {
            // Structure first: it follows hard links only, so every name looked up below is a plain dataset.
            Hdf5File.Structure structure = h5.structure();
            if (!structure.problems().isEmpty()) {
                throw new WeightFormatException(path, structure.problems());
            }
            C config = parse.apply(configText(h5));
            Map<String, long[]> expected = layout.apply(config);
            long fileSize = h5.fileSize();
            long parameters = 0;
            for (long[] shape : expected.values()) {
                parameters += TensorLayout.elements(shape);
            }
            // Checked before any allocation: the config alone must not make the reader allocate more than
            // the file could hold (every stored element takes at least the 2 bytes of a float16).
            long minStored = 2 * parameters;
            if (minStored > fileSize) {
                throw new WeightFormatException(path, "the config implies " + parameters
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
            return new Loaded<>(config, read(path, h5, expected));
        } catch (Hdf5Exception e) {
            throw new WeightFormatException(path, e.getMessage().substring(path.toString().length() + 2));
        }
    }

    /**
     * Reads only the config text of a file.
     *
     * @throws WeightFormatException if the file is unusable or has no config
     */
    static String configText(Path path) {
        try (Hdf5File h5 = Hdf5File.open(path)) {
            return configText(h5);
        } catch (Hdf5Exception e) {
            throw new WeightFormatException(path, e.getMessage().substring(path.toString().length() + 2));
        }
    }

    private static String configText(Hdf5File h5) {
        if (!h5.hasAttribute(WeightFile.CONFIG_ATTRIBUTE)) {
            throw new WeightFormatException(h5.path(), "no '" + WeightFile.CONFIG_ATTRIBUTE
                    + "' attribute: not a renal-mtl weight file (export it with weights/export/export.py)");
        }
        return h5.readStringAttribute(WeightFile.CONFIG_ATTRIBUTE, ConfigLimits.CONFIG_BYTES);
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

    private static TensorStore read(Path path, Hdf5File h5, Map<String, long[]> expected) {
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
            return new TensorStore(arena, own, Collections.unmodifiableMap(tensors));
        } catch (RuntimeException e) {
            closeAll(arena, own);
            throw e;
        }
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

    /** @return all tensors, in layout order */
    Map<String, Tensor> tensors() {
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
    synchronized void release(MemorySegment data) {
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
