package org.renalmtl.engine.cpu;

import static org.bytedeco.dnnl.global.dnnl.*;

import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.dnnl.dnnl_memory_desc;

/**
 * Where element (n, c, d, h, w) of a 5-D float32 activation lives in a oneDNN layout, for kernels written
 * in Java: {@code n·sN + (c / block)·sC + d·sD + h·sH + w·sW + c % block} elements from the start. It
 * covers every layout this backend hands between nodes: plain ncdhw (block 1), a channel slice of a
 * concat (block 1, sN of the whole concat), channels-last ndhwc (block 1, sC 1) and nCdhw16c-style
 * channel blocks, whose padded channels (up to {@code paddedChannels}) must hold zeros.
 *
 * @param sN stride of the sample index, in elements
 * @param sC stride of the channel (block) index
 * @param block channels per inner block, 1 without blocking
 * @param sD stride of depth
 * @param sH stride of height
 * @param sW stride of width
 * @param paddedChannels channels the layout holds, a multiple of {@code block}
 */
record ChannelLayout(long sN, long sC, int block, long sD, long sH, long sW, long paddedChannels) {

    /**
     * @param md a 5-D blocked-format descriptor with at most one inner block, on the channels
     * @throws IllegalArgumentException for any other layout
     */
    static ChannelLayout of(dnnl_memory_desc md) {
        try (IntPointer kind = new IntPointer(1); IntPointer ndims = new IntPointer(1); IntPointer nblks = new IntPointer(1);
             PointerPointer<LongPointer> strides = new PointerPointer<>(1);
             PointerPointer<LongPointer> blks = new PointerPointer<>(1);
             PointerPointer<LongPointer> idxs = new PointerPointer<>(1);
             PointerPointer<LongPointer> padded = new PointerPointer<>(1)) {
            Dnnl.check(dnnl_memory_desc_query(md, dnnl_query_format_kind, kind), "query format kind");
            Dnnl.check(dnnl_memory_desc_query(md, dnnl_query_ndims_s32, ndims), "query rank");
            if (kind.get() != dnnl_blocked || ndims.get() != 5) {
                throw new IllegalArgumentException("not a 5-D blocked layout");
            }
            Dnnl.check(dnnl_memory_desc_query(md, dnnl_query_strides, strides), "query strides");
            Dnnl.check(dnnl_memory_desc_query(md, dnnl_query_inner_nblks_s32, nblks), "query inner blocks");
            Dnnl.check(dnnl_memory_desc_query(md, dnnl_query_padded_dims, padded), "query padded dims");
            LongPointer s = strides.get(LongPointer.class, 0).capacity(5);
            int block = 1;
            if (nblks.get() > 0) {
                Dnnl.check(dnnl_memory_desc_query(md, dnnl_query_inner_blks, blks), "query inner block sizes");
                Dnnl.check(dnnl_memory_desc_query(md, dnnl_query_inner_idxs, idxs), "query inner block dims");
                if (nblks.get() != 1 || idxs.get(LongPointer.class, 0).get(0) != 1) {
                    throw new IllegalArgumentException("blocked on other than the channels alone");
                }
                block = (int) blks.get(LongPointer.class, 0).get(0);
            }
            return new ChannelLayout(s.get(0), s.get(1), block, s.get(2), s.get(3), s.get(4),
                    padded.get(LongPointer.class, 0).get(1));
        }
    }

    /** @return the element offset of (n, c, d, 0, 0) */
    long slice(long n, long c, long d) {
        return n * sN + (c / block) * sC + c % block + d * sD;
    }
}
