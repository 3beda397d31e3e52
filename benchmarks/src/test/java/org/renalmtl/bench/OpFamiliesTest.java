package org.renalmtl.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import org.junit.jupiter.api.Test;

/** The op cases' FLOP and byte counts against the textbook formulas, and every case builds. */
class OpFamiliesTest {
    @Test
    void countsFollowTheFormulas() {
        try (Arena arena = Arena.ofConfined()) {
            // conv: 2 · N · Cout · D'H'W' · Cin · k³
            assertEquals(2L * 256 * 16 * 16 * 16 * 256 * 27, OpFamilies.build("peak-conv", arena).flops());
            assertEquals(2L * 3 * 64 * 48 * 48 * 48 * 343, OpFamilies.build("conv-stem", arena).flops());
            assertEquals(2L * 3 * 128 * 12 * 12 * 12 * 64 * 27, OpFamilies.build("conv-layer2-down", arena).flops());
            // transposed conv: 2 · N · Cin · DHW (input) · Cout · k³
            assertEquals(2L * 64 * 32 * 32 * 32 * 32 * 8, OpFamilies.build("deconv-seg", arena).flops());
            // add: two inputs read and one output written, 4 bytes each
            long n = 3L * 64 * 48 * 48 * 48;
            OpFamilies.Case add = OpFamilies.build("bandwidth-add", arena);
            assertEquals(3 * n * 4, add.bytes());
            assertEquals(0, add.flops());
            assertFalse(add.compute());
            // Linear: weights and bias read once, input and output once
            OpFamilies.Case fc = OpFamilies.build("linear-expert", arena);
            assertEquals(2L * 1536 * 256, fc.flops());
            assertEquals(4L * (1536 * 256 + 256 + 1536 + 256), fc.bytes());
            assertFalse(fc.compute(), "2 FLOP per weight: judged by bandwidth");
            for (String name : OpFamilies.NAMES) {
                assertTrue(OpFamilies.build(name, arena).bytes() > 0, name);
            }
        }
    }
}
