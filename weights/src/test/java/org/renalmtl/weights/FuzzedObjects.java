package org.renalmtl.weights;

import static org.bytedeco.hdf5.global.hdf5.*;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongPredicate;
import org.bytedeco.javacpp.FloatPointer;

/**
 * Objects a fuzzed weight file gets besides its tensors, planned from fuzzer choices and created after
 * the tensors (so links can point at them). Names start with {@code x.}, which no tensor name does, so
 * an extra object never stands in for a tensor; HDF5 refusing one (a name already taken) just leaves
 * it out. Each records whether the format allows it: only empty groups nested at most 8 deep and
 * attributes do.
 */
final class FuzzedObjects {
    private final long file;
    private final List<FuzzedTensor> tensors;
    private final FuzzedWeightFile model;
    private final List<Runnable> planned = new ArrayList<>();

    FuzzedObjects(long file, List<FuzzedTensor> tensors, FuzzedWeightFile model) {
        this.file = file;
        this.tensors = tensors;
        this.model = model;
    }

    /** Plans one extra object of {@code kind} (0…7). */
    void plan(int kind, FuzzedDataProvider data) {
        String name = "x." + data.consumeString(12).replace('/', '_').replace('\0', '_');
        switch (kind) {
            case 0 -> add("dataset " + name, f -> dataset(f, name));
            case 1 -> {
                int depth = data.consumeInt(1, 11);
                boolean leaf = data.consumeBoolean();
                add(depth >= 9 || leaf ? "groups " + depth + " deep" + (leaf ? " with a dataset" : "") : null,
                        f -> groups(f, name, depth, leaf));
            }
            case 2 -> {
                String target = switch (data.consumeInt(0, 2)) {
                    case 0 -> tensors.get(data.consumeInt(0, tensors.size() - 1)).name;
                    case 1 -> "/";
                    default -> "x.dangling";
                };
                add("soft link " + name + " -> " + target, f -> H5Lcreate_soft(target, f, name, H5P_DEFAULT(),
                        H5P_DEFAULT()) >= 0);
            }
            case 3 -> {
                boolean self = data.consumeBoolean();
                add("external link " + name, f -> H5Lcreate_external(self ? selfName(f) : "other.h5", "/", f, name,
                        H5P_DEFAULT(), H5P_DEFAULT()) >= 0);
            }
            case 4 -> {
                String target = tensors.get(data.consumeInt(0, tensors.size() - 1)).name;
                add("hard link " + name + " -> " + target,
                        f -> H5Lcreate_hard(f, target, f, name, H5P_DEFAULT(), H5P_DEFAULT()) >= 0);
            }
            case 5 -> add("hard-link cycle " + name, f -> cycle(f, name));
            case 6 -> add("committed datatype " + name, f -> {
                long t = H5Tcopy(H5T_IEEE_F32LE_g());
                try {
                    return H5Tcommit2(f, name, t, H5P_DEFAULT(), H5P_DEFAULT(), H5P_DEFAULT()) >= 0;
                } finally {
                    H5Tclose(t);
                }
            });
            default -> {
                String owner = data.consumeBoolean() ? "/" : tensors.get(data.consumeInt(0, tensors.size() - 1)).name;
                int rank = data.consumeInt(0, 2);
                add(null, f -> attribute(f, owner, name, rank));
            }
        }
    }

    /** @param refusal why the format refuses the object, or null if it allows it */
    private void add(String refusal, LongPredicate create) {
        planned.add(() -> {
            boolean made = create.test(file);
            model.log.add((made ? "made " : "not made ") + (refusal == null ? "allowed object" : refusal));
            if (made && refusal != null) {
                model.refusals.add(refusal);
            }
        });
    }

    void create() {
        planned.forEach(Runnable::run);
    }

    private static String selfName(long f) {
        byte[] buf = new byte[4096];
        long n = H5Fget_name(f, buf, buf.length);
        return new String(buf, 0, (int) Math.max(0, Math.min(n, buf.length - 1)), java.nio.charset.StandardCharsets.UTF_8);
    }

    private static boolean dataset(long loc, String name) {
        long space = H5Screate_simple(1, new long[] {1}, (long[]) null);
        long ds = H5Dcreate2(loc, name, H5T_IEEE_F32LE_g(), space, H5P_DEFAULT(), H5P_DEFAULT(), H5P_DEFAULT());
        H5Sclose(space);
        if (ds < 0) {
            return false;
        }
        try (FloatPointer v = new FloatPointer(1f)) {
            return H5Dwrite(ds, H5T_NATIVE_FLOAT_g(), H5S_ALL(), H5S_ALL(), H5P_DEFAULT(), v) >= 0;
        } finally {
            H5Dclose(ds);
        }
    }

    private static boolean groups(long f, String name, int depth, boolean leaf) {
        long g = H5Gcreate2(f, name, H5P_DEFAULT(), H5P_DEFAULT(), H5P_DEFAULT());
        if (g < 0) {
            return false;
        }
        boolean ok = true;
        for (int i = 1; i < depth && ok; i++) {
            long inner = H5Gcreate2(g, "g", H5P_DEFAULT(), H5P_DEFAULT(), H5P_DEFAULT());
            H5Gclose(g);
            g = inner;
            ok = g >= 0;
        }
        if (ok && leaf) {
            ok = dataset(g, "d");
        }
        if (g >= 0) {
            H5Gclose(g);
        }
        if (!ok) {
            throw new IllegalStateException("HDF5 refused a nested group in a fresh group");
        }
        return true;
    }

    private static boolean cycle(long f, String name) {
        long g = H5Gcreate2(f, name, H5P_DEFAULT(), H5P_DEFAULT(), H5P_DEFAULT());
        if (g < 0) {
            return false;
        }
        try {
            if (H5Lcreate_hard(f, "/", g, "up", H5P_DEFAULT(), H5P_DEFAULT()) < 0) {
                throw new IllegalStateException("HDF5 refused a hard link to the root");
            }
            return true;
        } finally {
            H5Gclose(g);
        }
    }

    /** An attribute of rank 0–2 floats, on the root or on a tensor (absent tensors: not made). */
    private static boolean attribute(long f, String owner, String name, int rank) {
        long space = rank == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(rank, new long[] {2, 3}, (long[]) null);
        long a = H5Acreate_by_name(f, owner, name, H5T_IEEE_F32BE_g(), space, H5P_DEFAULT(), H5P_DEFAULT(),
                H5P_DEFAULT());
        H5Sclose(space);
        if (a < 0) {
            return false;
        }
        try (FloatPointer v = new FloatPointer(new float[6])) {
            return H5Awrite(a, H5T_NATIVE_FLOAT_g(), v) >= 0;
        } finally {
            H5Aclose(a);
        }
    }
}
