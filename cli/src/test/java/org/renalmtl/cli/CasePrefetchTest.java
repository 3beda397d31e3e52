package org.renalmtl.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The prefetcher alone, with a stand-in for preparing (no model): list order, case errors as items, a bug thrown in
 * its case's place, and no more than {@code ahead} cases prepared beyond the one the caller last took (plus the one
 * being prepared).
 */
class CasePrefetchTest {
    @ParameterizedTest
    @ValueSource(ints = {0, 1, 2, 5})
    void casesComeInListOrderWithTheirErrorsAndTheQueueIsBounded(int ahead) {
        List<Integer> rows = new ArrayList<>(List.of(4, 0, 7, 3, 9, 1, 8, 2));
        for (int i = 10; i < 30; i++) {
            rows.add(i);
        }
        AtomicInteger prepared = new AtomicInteger();
        AtomicInteger taken = new AtomicInteger();
        AtomicInteger mostAhead = new AtomicInteger();
        List<Integer> seen = new ArrayList<>();
        try (CasePrefetch p = new CasePrefetch(rows, r -> {
            // Cases started but not yet taken: the queue's plus the one being prepared now.
            mostAhead.accumulateAndGet(prepared.incrementAndGet() - taken.get(), Math::max);
            if (r == 7) {
                throw new InputException("case 7: bad input");
            }
            return null;
        }, ahead)) {
            while (p.hasNext()) {
                CasePrefetch.Item i = p.next();
                taken.incrementAndGet();
                seen.add(i.row());
                if (i.row() == 7) {
                    assertEquals("case 7: bad input", i.error().getMessage());
                } else {
                    assertNull(i.error());
                }
            }
        }
        assertEquals(rows, seen);
        // This test counts a case as taken once next() returned it, by when the thread may have begun the next one.
        assertTrue(mostAhead.get() <= ahead + 2, "at most " + ahead + " queued + 1 being prepared, saw "
                + mostAhead.get());
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 2})
    void aBugStopsTheRunInItsCasesPlace(int ahead) {
        IllegalStateException bug = new IllegalStateException("a bug");
        AtomicInteger calls = new AtomicInteger();
        try (CasePrefetch p = new CasePrefetch(List.of(0, 1, 2, 3, 4), r -> {
            calls.incrementAndGet();
            if (r == 2) {
                throw bug;
            }
            return null;
        }, ahead)) {
            assertEquals(0, p.next().row());
            assertEquals(1, p.next().row());
            assertSame(bug, assertThrows(IllegalStateException.class, p::next));
            assertFalse(p.hasNext(), "nothing after a bug");
        }
        assertEquals(3, calls.get(), "no case is prepared after the bug");
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 3})
    void closingEarlyStopsPreparing(int ahead) {
        AtomicInteger calls = new AtomicInteger();
        List<Integer> rows = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            rows.add(i);
        }
        try (CasePrefetch p = new CasePrefetch(rows, r -> {
            calls.incrementAndGet();
            return null;
        }, ahead)) {
            assertEquals(0, p.next().row());
        }
        int after = calls.get();
        assertTrue(after <= ahead + 2, "prepared " + after + " of 100 with " + ahead + " ahead");
    }
}
