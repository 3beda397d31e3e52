package org.renalmtl.weights;

import static org.bytedeco.hdf5.global.hdf5.*;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.bytedeco.javacpp.FloatPointer;

/**
 * How one expected tensor is stored in a fuzzed weight file: element type, shape, layout, filters,
 * external or virtual storage, allocation and fill, what is written. Each choice comes from the fuzzer;
 * {@link #create} writes the dataset through the HDF5 C API and records what a strict reader must
 * then do with it: refuse the file (with the rule broken) or read exactly the values this class knows
 * the dataset holds.
 */
final class FuzzedTensor {
    /** Element types: the four the format accepts first, then ones it must refuse. */
    enum Type { F32LE, F32BE, F16LE, F16BE, F64LE, F64BE, I32LE, U8, BFLOAT16 }

    enum Layout { CONTIGUOUS, CHUNKED, COMPACT, EXTERNAL, VIRTUAL }

    enum Write { FULL, NONE, FIRST_ELEMENT, NAN, INFINITY }

    final String name;
    private final long[] expectedShape;
    private final int seed;
    Type type = Type.F32LE;
    Layout layout = Layout.CONTIGUOUS;
    long[] shape;
    long[] chunk;
    boolean unlimited;
    int filter = -1; // 0 deflate, 1 shuffle, 2 fletcher32, 3 nbit, 4 scaleoffset
    Write write = Write.FULL;
    boolean allocEarly;
    boolean nanFill;
    boolean missing;
    String group; // stored as group/name instead of name

    FuzzedTensor(String name, long[] expectedShape, int seed) {
        this.name = name;
        this.expectedShape = expectedShape;
        this.shape = expectedShape.clone();
        this.seed = seed;
    }

    /** Applies one fuzzer-chosen change of {@code kind} (0…9). */
    void mutate(int kind, FuzzedDataProvider data) {
        switch (kind) {
            case 0 -> type = data.pickValue(Type.values());
            case 1 -> {
                layout = Layout.CHUNKED;
                unlimited = data.consumeBoolean();
                long[] s = shape == null ? new long[0] : shape; // HDF5 refuses chunks of rank 0
                chunk = new long[s.length];
                for (int i = 0; i < s.length; i++) {
                    chunk[i] = data.consumeLong(1, s[i] + 2);
                }
            }
            case 2 -> layout = data.pickValue(List.of(Layout.COMPACT, Layout.EXTERNAL, Layout.VIRTUAL));
            case 3 -> filter = data.consumeInt(0, 4);
            case 4 -> {
                int change = data.consumeInt(0, 3);
                shape = change == 3 || shape == null || shape.length == 0 ? null // null dataspace
                        : change == 0 ? withLast(shape, shape[shape.length - 1] + 1)
                        : change == 1 ? Arrays.copyOf(shape, shape.length - 1) // rank 1 becomes a scalar
                        : withLast(shape, 0);
            }
            case 5 -> {
                write = data.pickValue(Write.values());
                allocEarly = data.consumeBoolean();
                nanFill = data.consumeBoolean();
            }
            case 6 -> missing = true;
            default -> group = "g";
        }
    }

    private static long[] withLast(long[] s, long last) {
        long[] r = s.clone();
        r[r.length - 1] = last;
        return r;
    }

    /**
     * Why a strict reader must refuse this tensor, judged from the choices alone (before writing), or
     * null if it must read it.
     */
    String refusal() {
        if (missing || group != null) {
            return "missing";
        }
        if (type.ordinal() > Type.F16BE.ordinal()) {
            return "type " + type;
        }
        if (shape == null || !Arrays.equals(shape, expectedShape)) {
            return "shape " + Arrays.toString(shape);
        }
        if (layout != Layout.CONTIGUOUS && layout != Layout.CHUNKED) {
            return "layout " + layout;
        }
        if (filter >= 0) {
            return "filter " + filter;
        }
        if (layout == Layout.CHUNKED) {
            for (int i = 0; i < shape.length; i++) {
                if (chunk[i] > shape[i]) {
                    return "chunk " + Arrays.toString(chunk) + " larger than the dataset";
                }
            }
        }
        return switch (write) {
            case NAN, INFINITY -> "non-finite value written";
            case NONE -> allocEarly ? nonFiniteFill() : "never written";
            case FIRST_ELEMENT -> !allocEarly && layout == Layout.CHUNKED && chunks() > 1 ? "partly written"
                    : nonFiniteFill();
            case FULL -> null;
        };
    }

    private String nonFiniteFill() {
        return nanFill ? "NaN fill value read" : null;
    }

    private long chunks() {
        long n = 1;
        for (int i = 0; i < shape.length; i++) {
            n *= (shape[i] + chunk[i] - 1) / chunk[i];
        }
        return n;
    }

    /**
     * The values of the written data: exact in float16 (multiples of 1/8 within ±2.5), and never
     * negative in a BatchNorm variance, which the reader refuses by design.
     */
    float[] written() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        boolean variance = name.endsWith(".running_var");
        float[] v = new float[(int) n];
        for (int i = 0; i < v.length; i++) {
            float x = ((i * 7 + seed) % 41 - 20) / 8f;
            v[i] = variance ? Math.abs(x) : x;
        }
        return v;
    }

    /** The values a reader must return when it accepts the tensor (fill where nothing was written). */
    float[] stored() {
        float[] v = written();
        if (write == Write.NONE || write == Write.FIRST_ELEMENT) {
            float first = v.length > 0 ? v[0] : 0;
            Arrays.fill(v, nanFill ? Float.NaN : 0.5f);
            if (write == Write.FIRST_ELEMENT && v.length > 0) {
                v[0] = first;
            }
        }
        return v;
    }

    /**
     * Creates the dataset in {@code file} (an open HDF5 file) and writes it as chosen.
     *
     * @return false if HDF5 refused to create it (then it is absent) or a write the model relies on failed
     */
    boolean create(long file, Path dir) throws java.io.IOException {
        if (missing) {
            return true;
        }
        if (group != null && H5Lexists(file, group, H5P_DEFAULT()) <= 0) {
            H5Gclose(H5Gcreate2(file, group, H5P_DEFAULT(), H5P_DEFAULT(), H5P_DEFAULT()));
        }
        long t = h5Type();
        long space = shape == null ? H5Screate(H5S_NULL) : shape.length == 0 ? H5Screate(H5S_SCALAR)
                : H5Screate_simple(shape.length, shape, unlimited ? unlimitedDims() : null);
        long dcpl = H5Pcreate(H5P_CLS_DATASET_CREATE_ID_g());
        try (FloatPointer fill = new FloatPointer(new float[] {nanFill ? Float.NaN : 0.5f})) {
            H5Pset_fill_value(dcpl, H5T_NATIVE_FLOAT_g(), fill);
            H5Pset_fill_time(dcpl, H5D_FILL_TIME_ALLOC);
            if (allocEarly) {
                H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY);
            }
            layout(dcpl, dir, space);
            String path = group == null ? name : group + "/" + name;
            long ds = H5Dcreate2(file, path, t, space, H5P_DEFAULT(), dcpl, H5P_DEFAULT());
            if (ds < 0) {
                return false;
            }
            try {
                return write(ds);
            } finally {
                H5Dclose(ds);
            }
        } finally {
            H5Pclose(dcpl);
            H5Sclose(space);
            H5Tclose(t);
        }
    }

    private long[] unlimitedDims() {
        long[] max = new long[shape.length];
        Arrays.fill(max, H5S_UNLIMITED);
        return max;
    }

    private void layout(long dcpl, Path dir, long space) throws java.io.IOException {
        switch (layout) {
            case CHUNKED -> H5Pset_chunk(dcpl, chunk.length, chunk);
            case COMPACT -> H5Pset_layout(dcpl, H5D_COMPACT);
            case EXTERNAL -> {
                Path ext = dir.resolve("external-" + seed + ".bin");
                Files.deleteIfExists(ext);
                H5Pset_external(dcpl, ext.toAbsolutePath().toString(), 0, H5F_UNLIMITED);
            }
            case VIRTUAL -> H5Pset_virtual(dcpl, space, ".", "x.nowhere", space);
            case CONTIGUOUS -> { }
        }
        switch (filter) {
            case 0 -> H5Pset_deflate(dcpl, 1);
            case 1 -> H5Pset_shuffle(dcpl);
            case 2 -> H5Pset_fletcher32(dcpl);
            case 3 -> H5Pset_nbit(dcpl);
            case 4 -> H5Pset_scaleoffset(dcpl, H5Z_SO_FLOAT_DSCALE, 2);
            default -> { }
        }
    }

    private boolean write(long ds) {
        if (write == Write.NONE || shape == null) {
            return true;
        }
        float[] v = written();
        if ((write == Write.NAN || write == Write.INFINITY) && v.length > 0) {
            v[v.length / 2] = write == Write.NAN ? Float.NaN : Float.NEGATIVE_INFINITY;
        }
        if (write == Write.FIRST_ELEMENT && v.length == 0) {
            return true; // no first element to write (a zero-sized shape)
        }
        if (write == Write.FIRST_ELEMENT && shape.length > 0) {
            long fs = H5Dget_space(ds);
            long ms = H5Screate_simple(1, new long[] {1}, (long[]) null);
            long[] start = new long[shape.length];
            long[] count = new long[shape.length];
            Arrays.fill(count, 1);
            try (FloatPointer one = new FloatPointer(v[0])) {
                return H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, null, count, (long[]) null) >= 0
                        && H5Dwrite(ds, H5T_NATIVE_FLOAT_g(), ms, fs, H5P_DEFAULT(), one) >= 0;
            } finally {
                H5Sclose(ms);
                H5Sclose(fs);
            }
        }
        try (FloatPointer p = new FloatPointer(v)) {
            return H5Dwrite(ds, H5T_NATIVE_FLOAT_g(), H5S_ALL(), H5S_ALL(), H5P_DEFAULT(), p) >= 0;
        }
    }

    private long h5Type() {
        return switch (type) {
            case F32LE -> H5Tcopy(H5T_IEEE_F32LE_g());
            case F32BE -> H5Tcopy(H5T_IEEE_F32BE_g());
            case F64LE -> H5Tcopy(H5T_IEEE_F64LE_g());
            case F64BE -> H5Tcopy(H5T_IEEE_F64BE_g());
            case I32LE -> H5Tcopy(H5T_STD_I32LE_g());
            case U8 -> H5Tcopy(H5T_STD_U8LE_g());
            // As h5py builds float16 (and a bfloat16 the same way): the IEEE single layout narrowed.
            case F16LE, F16BE -> small(10, 5, 15, type == Type.F16BE);
            case BFLOAT16 -> small(7, 8, 127, false);
        };
    }

    private static long small(int mantissa, int exponent, int bias, boolean bigEndian) {
        long t = H5Tcopy(H5T_IEEE_F32LE_g());
        H5Tset_fields(t, 15, mantissa, exponent, 0, mantissa);
        H5Tset_size(t, 2);
        H5Tset_ebias(t, bias);
        if (bigEndian) {
            H5Tset_order(t, H5T_ORDER_BE);
        }
        return t;
    }
}
