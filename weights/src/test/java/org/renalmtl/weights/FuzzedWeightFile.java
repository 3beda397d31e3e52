package org.renalmtl.weights;

import static org.bytedeco.hdf5.global.hdf5.*;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.PointerPointer;
import org.renalmtl.weights.hdf5.Hdf5File;

/**
 * A weight file built from fuzzer choices through the HDF5 C API: always a well-formed HDF5 file (so
 * the fuzzer explores the reader's structure checks, not libhdf5's parser), starting from a valid tiny
 * model and changed by a list of fuzzed operations: tensor storage ({@link FuzzedTensor}), the config
 * attribute's type, dataspace and text, and extra objects (datasets, nested groups, soft, external and
 * hard links, link cycles, committed datatypes, attributes). Every operation knows whether the format
 * allows it, so the builder also says what {@link WeightFile#load} must do: refuse the file, or load it
 * with exactly the values written. An empty input builds the valid file.
 */
final class FuzzedWeightFile {
    /** ResNet-10 with shortcut A and an MLP head over one 8³ phase: every tensor kind, 47 tensors. */
    static final String CONFIG = "{\"format\":\"renal-mtl-weights\",\"format_version\":1,\"name\":\"fuzz\","
            + "\"phases\":[\"ct\"],\"tasks\":[{\"name\":\"t\"}],"
            + "\"input\":{\"size\":[8,8,8],\"spacing_mm\":[1,1,1]},"
            + "\"preprocessing\":{\"hu_window\":[-1,1],\"normalisation\":\"window\"},"
            + "\"networks\":[{\"name\":\"n\",\"tasks\":[\"t\"],\"fusion\":\"batch\",\"backbone\":{\"depth\":10,"
            + "\"widths\":[2,2,2,2],\"shortcut\":\"A\",\"stem\":{\"kernel\":[3,3,3],\"stride\":[1,1,1],"
            + "\"padding\":[1,1,1]}},\"head\":{\"type\":\"mlp\",\"hidden\":[]}}]}";

    /** Tensor name → the values a load must return; meaningful only when {@link #refusals} is empty. */
    final Map<String, float[]> values = new LinkedHashMap<>();
    /** Every rule the file breaks; empty if it must load. */
    final List<String> refusals = new ArrayList<>();
    /** The config text a load must return. */
    String config = CONFIG;
    /** False when HDF5 refused a call whose effect the model relies on: then only the error's form is checked. */
    boolean modelled = true;
    /** What was built, for a finding's message. */
    final List<String> log = new ArrayList<>();

    private FuzzedWeightFile() {}

    /** Builds the file at {@code file} (overwriting it); {@code dir} takes any external data file. */
    static FuzzedWeightFile build(FuzzedDataProvider data, Path file, Path dir) throws IOException {
        try {
            // Its static initialiser turns off HDF5's printing of error stacks, which the builder's refused
            // calls (taken names, impossible chunks) would otherwise fill stderr with.
            MethodHandles.lookup().ensureInitialized(Hdf5File.class);
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(e);
        }
        FuzzedWeightFile w = new FuzzedWeightFile();
        List<FuzzedTensor> tensors = new ArrayList<>();
        int seed = 0;
        for (Map.Entry<String, long[]> e : TensorLayout.expected(ConfigParser.parse(CONFIG, file)).entrySet()) {
            tensors.add(new FuzzedTensor(e.getKey(), e.getValue(), seed++));
        }
        long fcpl = H5Pcreate(H5P_CLS_FILE_CREATE_ID_g());
        long fapl = H5Pcreate(H5P_CLS_FILE_ACCESS_ID_g());
        H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG); // closing the file closes anything left open
        int libver = data.consumeInt(0, 2);
        if (libver > 0) {
            H5Pset_libver_bounds(fapl, libver == 1 ? H5F_LIBVER_V110 : H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);
        }
        if (data.consumeBoolean()) {
            H5Pset_userblock(fcpl, 512L << data.consumeInt(0, 3));
            w.log.add("userblock");
        }
        w.log.add("libver " + libver);
        long f = H5Fcreate(file.toString(), H5F_ACC_TRUNC, fcpl, fapl);
        H5Pclose(fcpl);
        H5Pclose(fapl);
        if (f < 0) {
            throw new IllegalStateException("cannot create " + file);
        }
        try {
            FuzzedObjects extras = new FuzzedObjects(f, tensors, w);
            int ops = data.consumeInt(0, 12);
            int attrKind = data.consumeInt(0, 8);
            for (int i = 0; i < ops; i++) {
                int kind = data.consumeInt(0, 15);
                if (kind < 8) {
                    FuzzedTensor t = tensors.get(data.consumeInt(0, tensors.size() - 1));
                    t.mutate(kind, data);
                } else {
                    extras.plan(kind - 8, data);
                }
            }
            for (FuzzedTensor t : tensors) {
                String why = t.refusal();
                w.log.add(t.name + " " + t.type + " " + t.layout + " " + java.util.Arrays.toString(t.shape)
                        + " chunk " + java.util.Arrays.toString(t.chunk) + (t.unlimited ? " unlimited" : "")
                        + " filter " + t.filter + " " + t.write + (t.allocEarly ? " early" : "")
                        + (t.nanFill ? " nan-fill" : "") + (why == null ? "" : ": " + why));
                if (!t.create(f, dir)) {
                    w.refusals.add(t.name + " could not be created or written");
                    w.modelled &= why != null; // a refused tensor stays refused; a good one now is unknown
                } else if (why != null) {
                    w.refusals.add(t.name + ": " + why);
                } else {
                    w.values.put(t.name, t.stored());
                }
            }
            w.configAttribute(f, attrKind, data);
            extras.create();
        } finally {
            H5Fclose(f);
        }
        return w;
    }

    /** The root's config attribute, as one of nine kinds (0: the normal variable-length UTF-8 string). */
    private void configAttribute(long f, int kind, FuzzedDataProvider data) {
        String text = CONFIG;
        if (kind == 8) {
            text = CONFIG + data.consumeString(16);
        }
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        String read = new String(bytes, StandardCharsets.UTF_8);
        int nul = read.indexOf('\0');
        config = nul < 0 ? read : read.substring(0, nul); // the reader's C string ends at a NUL
        log.add("config attribute kind " + kind + ": " + text.substring(CONFIG.length()));
        String name = WeightFile.CONFIG_ATTRIBUTE;
        switch (kind) {
            case 1 -> {
                int pad = data.pickValue(new int[] {H5T_STR_NULLTERM, H5T_STR_NULLPAD, H5T_STR_SPACEPAD});
                int size = bytes.length + data.consumeInt(-2, 3);
                if (size < bytes.length) {
                    config = CONFIG.substring(0, Math.max(size, 1)); // kind 1 has no suffix: all ASCII
                } else if (pad == H5T_STR_SPACEPAD) {
                    config = config + " ".repeat(size - bytes.length);
                }
                fixed(f, name, bytes, Math.max(size, 1), pad, H5Screate(H5S_SCALAR));
            }
            case 2 -> {
                variable(f, name, bytes, H5Screate_simple(1, new long[] {data.consumeInt(1, 4)}, (long[]) null),
                        H5T_CSET_UTF8);
                refusals.add("config is an array of strings");
            }
            case 3 -> {
                fixed(f, name, bytes, bytes.length, H5T_STR_NULLTERM,
                        H5Screate_simple(1, new long[] {data.consumeInt(1, 4)}, (long[]) null));
                refusals.add("config is an array of strings");
            }
            case 4 -> {
                variable(f, name, bytes, H5Screate(H5S_NULL), H5T_CSET_UTF8);
                refusals.add("config has a null dataspace");
            }
            case 5 -> {
                long space = H5Screate(H5S_SCALAR);
                long a = H5Acreate2(f, name, H5T_STD_I32LE_g(), space, H5P_DEFAULT(), H5P_DEFAULT());
                try (IntPointer one = new IntPointer(new int[] {1})) {
                    H5Awrite(a, H5T_NATIVE_INT_g(), one);
                }
                H5Aclose(a);
                H5Sclose(space);
                refusals.add("config is an integer");
            }
            case 6 -> refusals.add("no config attribute");
            case 7 -> variable(f, name, bytes, H5Screate(H5S_SCALAR), H5T_CSET_ASCII);
            default -> variable(f, name, bytes, H5Screate(H5S_SCALAR), H5T_CSET_UTF8);
        }
        String tail = config.startsWith(CONFIG) ? config.substring(CONFIG.length()) : null;
        if (tail == null || !tail.chars().allMatch(c -> " \t\r\n".indexOf(c) >= 0)) {
            refusals.add("config text is not the valid config followed by JSON whitespace");
        }
    }

    private static void variable(long f, String name, byte[] bytes, long space, int cset) {
        long type = H5Tcopy(H5T_C_S1_g());
        H5Tset_size(type, H5T_VARIABLE);
        H5Tset_cset(type, cset);
        long n = Math.max(1, H5Sget_simple_extent_npoints(space));
        long a = H5Acreate2(f, name, type, space, H5P_DEFAULT(), H5P_DEFAULT());
        // The holder is an array of char*, one per element; see Hdf5File.writeStringAttribute.
        try (BytePointer str = new BytePointer(bytes.length + 1L);
                PointerPointer<BytePointer> holder = new PointerPointer<>(n)) {
            str.put(bytes).put(bytes.length, (byte) 0);
            for (long i = 0; i < n; i++) {
                holder.put(i, str);
            }
            H5Awrite(a, type, holder);
        }
        H5Aclose(a);
        H5Sclose(space);
        H5Tclose(type);
    }

    private static void fixed(long f, String name, byte[] bytes, int size, int pad, long space) {
        long type = H5Tcopy(H5T_C_S1_g());
        H5Tset_size(type, size);
        H5Tset_strpad(type, pad);
        long n = Math.max(1, H5Sget_simple_extent_npoints(space));
        long a = H5Acreate2(f, name, type, space, H5P_DEFAULT(), H5P_DEFAULT());
        try (BytePointer buf = new BytePointer(n * size)) {
            for (long i = 0; i < n; i++) {
                for (int k = 0; k < size; k++) {
                    buf.put(i * size + k, k < bytes.length ? bytes[k] : pad == H5T_STR_SPACEPAD ? (byte) ' ' : 0);
                }
            }
            H5Awrite(a, type, buf);
        }
        H5Aclose(a);
        H5Sclose(space);
        H5Tclose(type);
    }
}
