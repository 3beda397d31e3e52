package org.renalmtl.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class RatioTableTest {

    @Test
    void ratioIsOursOverThePeersOfMedians() {
        // means deliberately out of line with the medians: the ratio must use the medians
        RatioTable t = new RatioTable(List.of(
                new RatioTable.Row("renalMtl", 600.0, 900.0, 10.0, 590.0, 40, "ms/op"),
                new RatioTable.Row("libtorch", 800.0, 810.0, 12.0, 780.0, 30, "ms/op"),
                new RatioTable.Row("onnxRuntime", 500.0, 505.0, Double.NaN, 490.0, 50, "ms/op")));
        assertEquals(0.75, t.ratio("libtorch").orElseThrow(), 1e-12);
        assertEquals(1.2, t.ratio("onnxRuntime").orElseThrow(), 1e-12);
        String text = t.format();
        assertTrue(text.contains("renal-mtl / libtorch = 0.750 (renal-mtl 1.33x faster)"), text);
        assertTrue(text.contains("renal-mtl / onnxRuntime = 1.200 (renal-mtl 1.20x slower)"), text);
        assertTrue(text.lines().anyMatch(l -> l.startsWith("onnxRuntime") && l.contains("n/a")), text);
    }

    @Test
    void noRatioWithoutRenalMtlOrAcrossUnits() {
        RatioTable peersOnly = new RatioTable(List.of(new RatioTable.Row("libtorch", 800.0, 800.0, 1.0, 790.0, 9,
                "ms/op")));
        assertTrue(peersOnly.ratio("libtorch").isEmpty());
        assertTrue(peersOnly.format().lines().noneMatch(l -> l.startsWith("renal-mtl /")));
        RatioTable mixed = new RatioTable(List.of(new RatioTable.Row("renalMtl", 0.6, 0.6, 0.0, 0.5, 9, "s/op"),
                new RatioTable.Row("libtorch", 800.0, 800.0, 1.0, 790.0, 9, "ms/op")));
        assertTrue(mixed.ratio("libtorch").isEmpty());
    }

    @Test
    void theBaselineRowIsNamedByItsCommitAndComparedInPercent() {
        RatioTable t = new RatioTable(List.of(
                new RatioTable.Row("renalMtl", 189.0, 190.0, 2.0, 180.0, 40, "ms/op"),
                new RatioTable.Row("renalMtlBaseline", 180.0, 181.0, 2.0, 172.0, 40, "ms/op"),
                new RatioTable.Row("libtorch", 420.0, 425.0, 5.0, 400.0, 20, "ms/op")), "060882f");
        assertEquals(1.05, t.ratio("renalMtlBaseline").orElseThrow(), 1e-12);
        String text = t.format();
        assertTrue(text.lines().anyMatch(l -> l.startsWith("renal-mtl (baseline 060882f) ") && l.endsWith(" 1.050")),
                text);
        assertTrue(text.contains("renal-mtl / baseline 060882f = 1.050 (renal-mtl's median +5.0% against the"
                + " baseline's)"), text);
        assertTrue(text.contains("renal-mtl / libtorch = 0.450 (renal-mtl 2.22x faster)"), text);
        // the name column widens to the baseline's label, so every row's numbers stay aligned
        List<String> lines = text.lines().toList();
        assertEquals(lines.get(0).indexOf("median") + "median".length(), lines.get(1).indexOf("189.0") + 5, text);
        assertEquals(lines.get(1).indexOf("189.0"), lines.get(2).indexOf("180.0"), text);
    }
}
