package org.renalmtl.engine.cuda;

import static org.bytedeco.cuda.global.cudart.cudaFree;
import static org.bytedeco.cuda.global.cudart.cudaMalloc;

import java.util.concurrent.atomic.AtomicLong;
import org.bytedeco.javacpp.Pointer;

/**
 * One {@code cudaMalloc} allocation, freed on {@link #close} (cudaMalloc'd memory is never freed
 * for us). Every device allocation of this backend goes through here, so {@link #mallocCount()}
 * and {@link #liveBytes()} are the backend's own bookkeeping: a forward that allocates shows up as
 * a changed count.
 */
final class DeviceBuffer implements AutoCloseable {
    private static final AtomicLong MALLOCS = new AtomicLong();
    private static final AtomicLong LIVE = new AtomicLong();
    private static final AtomicLong PEAK = new AtomicLong();

    private final long address;
    private final long bytes;
    private boolean closed;

    private DeviceBuffer(long address, long bytes) {
        this.address = address;
        this.bytes = bytes;
    }

    /**
     * @param bytes size (at least 256 bytes are allocated so every view is valid)
     * @param what for the error message
     */
    static DeviceBuffer allocate(long bytes, String what) {
        long n = Math.max(bytes, 256);
        Pointer p = new Pointer();
        Cuda.check(cudaMalloc(p, n), "cudaMalloc " + n + " bytes for " + what);
        MALLOCS.incrementAndGet();
        long live = LIVE.addAndGet(n);
        PEAK.accumulateAndGet(live, Math::max);
        return new DeviceBuffer(p.address(), n);
    }

    /** @return the device address of byte 0 */
    long address() {
        return address;
    }

    /** @return allocated bytes */
    long bytes() {
        return bytes;
    }

    /** @return cudaMalloc calls made by this backend since the JVM started */
    static long mallocCount() {
        return MALLOCS.get();
    }

    /** @return bytes this backend holds on all devices now */
    static long liveBytes() {
        return LIVE.get();
    }

    /** @return the most bytes this backend held at once */
    static long peakBytes() {
        return PEAK.get();
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        LIVE.addAndGet(-bytes);
        Cuda.check(cudaFree(Cuda.at(address)), "cudaFree");
    }
}
