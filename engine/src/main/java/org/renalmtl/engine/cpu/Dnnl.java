package org.renalmtl.engine.cpu;

import static org.bytedeco.dnnl.global.dnnl.*;

import org.bytedeco.dnnl.dnnl_engine;
import org.bytedeco.dnnl.dnnl_memory_desc;
import org.bytedeco.dnnl.dnnl_primitive_desc;
import org.bytedeco.dnnl.dnnl_stream;
import org.bytedeco.dnnl.dnnl_version_t;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;

/** The process's oneDNN CPU engine and stream, and status checking. */
final class Dnnl {
    /** Lazily created on first use; oneDNN engines are thread-safe and live for the process. */
    private static dnnl_engine engine;

    private static dnnl_stream stream;

    private Dnnl() {}

    static synchronized dnnl_engine engine() {
        if (engine == null) {
            dnnl_engine e = new dnnl_engine();
            check(dnnl_engine_create(e, dnnl_cpu, 0), "create CPU engine");
            dnnl_stream s = new dnnl_stream();
            check(dnnl_stream_create(s, e, dnnl_stream_default_flags), "create stream");
            engine = e;
            stream = s;
        }
        return engine;
    }

    /** The one in-order CPU stream; callers serialise forward passes (see {@code CpuNetwork}). */
    static synchronized dnnl_stream stream() {
        engine();
        return stream;
    }

    static void check(int status, String what) {
        if (status != dnnl_success) {
            throw new IllegalStateException("oneDNN: " + what + " failed with status " + status);
        }
    }

    /** @return a plain (tag-described) float32 memory descriptor */
    static dnnl_memory_desc md(long[] dims, int tag) {
        dnnl_memory_desc m = new dnnl_memory_desc();
        check(dnnl_memory_desc_create_with_tag(m, dims.length, dims, dnnl_f32, tag), "memory desc");
        return m;
    }

    /** @return a strided float32 memory descriptor */
    static dnnl_memory_desc strided(long[] dims, long[] strides) {
        dnnl_memory_desc m = new dnnl_memory_desc();
        check(dnnl_memory_desc_create_with_strides(m, dims.length, dims, dnnl_f32, strides), "strided memory desc");
        return m;
    }

    /** @return the implementation oneDNN picked, e.g. {@code brg_conv_fwd:avx512_core} */
    static String implementation(dnnl_primitive_desc pd) {
        try (PointerPointer<Pointer> p = new PointerPointer<>(1)) {
            dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, p);
            return p.getString(0);
        }
    }

    /** @return oneDNN's version, e.g. {@code 3.11.0} */
    static String version() {
        dnnl_version_t v = dnnl_version();
        return v.major() + "." + v.minor() + "." + v.patch();
    }
}
