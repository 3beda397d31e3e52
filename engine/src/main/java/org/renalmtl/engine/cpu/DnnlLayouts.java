package org.renalmtl.engine.cpu;

import static org.bytedeco.dnnl.global.dnnl.*;

import java.lang.foreign.MemorySegment;
import org.bytedeco.dnnl.dnnl_exec_arg_t;
import org.bytedeco.dnnl.dnnl_memory;
import org.bytedeco.dnnl.dnnl_memory_desc;
import org.bytedeco.dnnl.dnnl_primitive;
import org.bytedeco.dnnl.dnnl_primitive_desc;

/** oneDNN layouts the CPU kernels share: plain tags by rank, one-off reorders, and recognising a layout. */
final class DnnlLayouts {
    /** The formats a 5-D activation may be in on this backend, plain first (checked in this order). */
    private static final int[] VOLUME_TAGS = {dnnl_ncdhw, dnnl_nCdhw16c, dnnl_nCdhw8c, dnnl_nCdhw4c, dnnl_ndhwc};

    private DnnlLayouts() {}

    /** @return the row-major tag of a rank (a, ab, abc, …): ncdhw for volumes, nc for vectors */
    static int plainTag(int rank) {
        return switch (rank) {
            case 1 -> dnnl_a;
            case 2 -> dnnl_ab;
            case 3 -> dnnl_abc;
            case 4 -> dnnl_abcd;
            case 5 -> dnnl_abcde;
            default -> throw new IllegalArgumentException("rank " + rank);
        };
    }

    /** @return whether {@code md} is the dense row-major layout of its dims */
    static boolean isPlain(dnnl_memory_desc md, long[] dims) {
        dnnl_memory_desc p = Dnnl.md(dims, plainTag(dims.length));
        try {
            return dnnl_memory_desc_equal(md, p) != 0;
        } finally {
            dnnl_memory_desc_destroy(p);
        }
    }

    /**
     * @return the tag of {@code md} among the volume formats this backend uses, so an op that changes the
     *     channel count (the type-A shortcut) can keep its input's format; -1 if it is none of them
     */
    static int volumeTag(dnnl_memory_desc md, long[] dims) {
        for (int tag : VOLUME_TAGS) {
            dnnl_memory_desc t = Dnnl.md(dims, tag);
            try {
                if (dnnl_memory_desc_equal(md, t) != 0) {
                    return tag;
                }
            } finally {
                dnnl_memory_desc_destroy(t);
            }
        }
        return -1;
    }

    /** Copies {@code src} (layout {@code srcMd}) into {@code dst} (layout {@code dstMd}) now, waiting for it. */
    static void reorder(dnnl_memory_desc srcMd, MemorySegment src, dnnl_memory_desc dstMd, MemorySegment dst) {
        dnnl_memory srcMem = new dnnl_memory();
        dnnl_memory dstMem = new dnnl_memory();
        dnnl_primitive_desc pd = new dnnl_primitive_desc();
        dnnl_primitive r = new dnnl_primitive();
        try (dnnl_exec_arg_t a = new dnnl_exec_arg_t(2)) {
            Dnnl.check(dnnl_memory_create(srcMem, srcMd, Dnnl.engine(), new MutablePointer(src)), "reorder source");
            Dnnl.check(dnnl_memory_create(dstMem, dstMd, Dnnl.engine(), new MutablePointer(dst)), "reorder target");
            Dnnl.check(dnnl_reorder_primitive_desc_create(pd, srcMd, Dnnl.engine(), dstMd, Dnnl.engine(), null), "reorder");
            Dnnl.check(dnnl_primitive_create(r, pd), "reorder");
            a.position(0).arg(DNNL_ARG_FROM).memory(srcMem);
            a.position(1).arg(DNNL_ARG_TO).memory(dstMem);
            Dnnl.check(dnnl_primitive_execute(r, Dnnl.stream(), 2, a.position(0)), "reorder");
            Dnnl.check(dnnl_stream_wait(Dnnl.stream()), "stream wait");
        } finally {
            dnnl_primitive_destroy(r);
            dnnl_primitive_desc_destroy(pd);
            dnnl_memory_destroy(srcMem);
            dnnl_memory_destroy(dstMem);
        }
    }
}
