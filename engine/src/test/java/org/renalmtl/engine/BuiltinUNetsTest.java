package org.renalmtl.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.renalmtl.engine.graph.UNetBuilder;
import org.renalmtl.weights.SegmentationConfig;
import org.renalmtl.weights.SegmentationLayout;
import org.renalmtl.weights.Tensor;

/** The built-in default nnU-Net: the plan nnU-Net makes for a 1 mm CT, every tensor its layout expects, a graph. */
class BuiltinUNetsTest {
    @Test
    void isNnunetsDefaultPlanWithEveryTensor() {
        SegmentationConfig c = BuiltinUNets.nnunetDefault();
        assertArrayEquals(new int[] {32, 64, 128, 256, 320, 320}, c.network().featuresPerStage());
        assertArrayEquals(new int[] {128, 128, 128}, c.patchSize());
        try (Arena arena = Arena.ofConfined()) {
            Map<String, Tensor> w = BuiltinUNets.seeded(c, 1, arena);
            assertEquals(SegmentationLayout.expected(c).keySet(), w.keySet());
            Tensor norm = w.entrySet().stream().filter(e -> e.getKey().endsWith("norm.weight")).findFirst()
                    .orElseThrow().getValue();
            float v = norm.data().getAtIndex(ValueLayout.JAVA_FLOAT, 0);
            assertTrue(v > 0.9 && v < 1.1, "norm weights about 1: " + v);
            assertEquals(BuiltinUNets.seeded(c, 1, arena).values().iterator().next().data()
                    .getAtIndex(ValueLayout.JAVA_FLOAT, 7), w.values().iterator().next().data()
                    .getAtIndex(ValueLayout.JAVA_FLOAT, 7), "seeded: the same weights every time");
            assertTrue(UNetBuilder.build(c, w, 1).outputs().containsKey(UNetBuilder.OUTPUT));
        }
    }
}
