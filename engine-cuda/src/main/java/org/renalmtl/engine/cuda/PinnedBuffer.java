package org.renalmtl.engine.cuda;

import static org.bytedeco.cuda.global.cudart.cudaFreeHost;
import static org.bytedeco.cuda.global.cudart.cudaMallocHost;

import java.lang.foreign.MemorySegment;
import org.bytedeco.javacpp.Pointer;

/**
 * Page-locked host memory ({@code cudaMallocHost}): the only host memory a captured CUDA graph
 * copies from and to, so copies are true DMA and never staged by the driver.
 */
final class PinnedBuffer implements AutoCloseable {
    private final long address;
    private final MemorySegment segment;
    private boolean closed;

    @SuppressWarnings("restricted") // wrapping memory cudaMallocHost just returned, of exactly n bytes
    PinnedBuffer(long bytes, String what) {
        long n = Math.max(bytes, 64);
        Pointer p = new Pointer();
        Cuda.check(cudaMallocHost(p, n), "cudaMallocHost " + n + " bytes for " + what);
        address = p.address();
        segment = MemorySegment.ofAddress(address).reinterpret(n);
    }

    /** @return the host address */
    long address() {
        return address;
    }

    /** @return the memory as a segment; invalid after {@link #close} */
    MemorySegment segment() {
        return segment;
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            Cuda.check(cudaFreeHost(Cuda.at(address)), "cudaFreeHost");
        }
    }
}
