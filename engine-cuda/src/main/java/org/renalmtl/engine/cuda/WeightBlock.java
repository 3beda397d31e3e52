package org.renalmtl.engine.cuda;

import static org.bytedeco.cuda.global.cudart.cudaMemcpy;
import static org.bytedeco.cuda.global.cudart.cudaMemcpyHostToDevice;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import org.renalmtl.engine.plan.ArenaPlanner;

/**
 * All weights of a plan in ONE device allocation: parts register their arrays (getting byte
 * offsets), then {@link #upload} allocates once and copies everything in one {@code cudaMemcpy}.
 */
final class WeightBlock {
    private final List<Object> arrays = new ArrayList<>(); // float[] or int[], in offset order
    private final List<Long> offsets = new ArrayList<>();
    private long size;

    /** @return the byte offset {@code data} will have in the block */
    long add(float[] data) {
        return add(data, (long) data.length * Float.BYTES);
    }

    /** @return the byte offset {@code data} will have in the block */
    long add(int[] data) {
        return add(data, (long) data.length * Integer.BYTES);
    }

    private long add(Object data, long bytes) {
        long off = size;
        arrays.add(data);
        offsets.add(off);
        size += ArenaPlanner.align(Math.max(bytes, 1));
        return off;
    }

    /** @return bytes of the block */
    long bytes() {
        return size;
    }

    /** Allocates the block on the current device and copies every registered array into it. */
    DeviceBuffer upload() {
        DeviceBuffer buf = DeviceBuffer.allocate(size, "weights");
        try (Arena host = Arena.ofConfined()) {
            MemorySegment staging = host.allocate(Math.max(size, 1), ArenaPlanner.ALIGNMENT);
            for (int i = 0; i < arrays.size(); i++) {
                long off = offsets.get(i);
                switch (arrays.get(i)) {
                    case float[] f -> MemorySegment.copy(f, 0, staging, ValueLayout.JAVA_FLOAT, off, f.length);
                    case int[] n -> MemorySegment.copy(n, 0, staging, ValueLayout.JAVA_INT, off, n.length);
                    default -> throw new IllegalStateException("unexpected weight array");
                }
            }
            Cuda.check(cudaMemcpy(Cuda.at(buf.address()), Cuda.at(staging.address()), size, cudaMemcpyHostToDevice),
                    "copy weights to the device");
        } catch (RuntimeException e) {
            buf.close();
            throw e;
        }
        return buf;
    }
}
