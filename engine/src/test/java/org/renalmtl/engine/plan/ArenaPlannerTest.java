package org.renalmtl.engine.plan;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class ArenaPlannerTest {
    @Test
    void overlappingLifetimesNeverShareBytes() {
        SplittableRandom r = new SplittableRandom(7);
        for (int trial = 0; trial < 200; trial++) {
            List<ArenaPlanner.Request> reqs = new ArrayList<>();
            int n = 1 + r.nextInt(40);
            for (int i = 0; i < n; i++) {
                int first = r.nextInt(30);
                reqs.add(new ArenaPlanner.Request("b" + i, 1 + r.nextInt(1 << 20), first, first + r.nextInt(8)));
            }
            ArenaPlanner.Plan p = ArenaPlanner.plan(reqs);
            assertTrue(p.size() >= p.lowerBound());
            for (int i = 0; i < n; i++) {
                ArenaPlanner.Request a = reqs.get(i);
                assertTrue(p.offsets()[i] % ArenaPlanner.ALIGNMENT == 0);
                assertTrue(p.offsets()[i] + a.bytes() <= p.size());
                for (int j = i + 1; j < n; j++) {
                    ArenaPlanner.Request b = reqs.get(j);
                    boolean liveTogether = a.first() <= b.last() && b.first() <= a.last();
                    boolean overlap = p.offsets()[i] < p.offsets()[j] + b.bytes()
                            && p.offsets()[j] < p.offsets()[i] + a.bytes();
                    assertTrue(!(liveTogether && overlap), "buffers " + i + " and " + j + " collide");
                }
            }
        }
    }

    @Test
    void chainReusesMemory() {
        // A ResNet-like chain: each value lives two steps; the arena must hold ~2 values, not all 20.
        List<ArenaPlanner.Request> reqs = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            reqs.add(new ArenaPlanner.Request("v" + i, 1000 * 256, i, i + 1));
        }
        ArenaPlanner.Plan p = ArenaPlanner.plan(reqs);
        assertTrue(p.size() <= 2 * 1000 * 256, "size " + p.size());
    }
}
