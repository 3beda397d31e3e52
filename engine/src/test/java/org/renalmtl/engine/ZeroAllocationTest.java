package org.renalmtl.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.sun.management.ThreadMXBean;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** After warm-up, a forward pass allocates nothing on the Java heap (the planned-memory promise). */
class ZeroAllocationTest {
    @ParameterizedTest
    @EnumSource(BuiltinModels.Kind.class)
    void forwardAllocatesNothingAfterWarmUp(BuiltinModels.Kind kind) {
        ThreadMXBean mx = (ThreadMXBean) ManagementFactory.getThreadMXBean();
        int[] size = {32, 32, 32};
        int cases = 2;
        try (Model model = BuiltinModels.create(kind, 1, Device.CPU); Arena arena = Arena.ofConfined()) {
            MemorySegment in = arena.allocate((long) cases * 3 * size[0] * size[1] * size[2] * Float.BYTES, 64);
            MemorySegment probs = arena.allocate((long) cases * 3 * Float.BYTES, 64);
            for (int i = 0; i < 10; i++) {
                model.forward(in, cases, size, probs); // plans, then warms the JIT (C2 compiles the Java kernels; C1 code may allocate)
            }
            long before = mx.getCurrentThreadAllocatedBytes();
            for (int i = 0; i < 5; i++) {
                model.forward(in, cases, size, probs);
            }
            long allocated = mx.getCurrentThreadAllocatedBytes() - before;
            assertEquals(0, allocated, "bytes allocated by 5 warm forward passes");
        }
    }
}
