package org.renalmtl.loader.phantom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.renalmtl.loader.Geometry;
import org.renalmtl.loader.MaskSelection;
import org.renalmtl.loader.NiftiReader;
import org.renalmtl.loader.Volume;
import org.renalmtl.loader.VolumeInputException;
import org.renalmtl.loader.measure.TumourMeasurements;
import org.renalmtl.loader.measure.TumourMeasurer;

/** The synthetic phantom: geometry, analytic truth, enhancement, cohort files and the command. */
class PhantomTest {

    @TempDir
    Path dir;

    @Test
    void defaultCaseHasRealisticGridAndMatchesItsAnalyticTumour() {
        try (PhantomCase c = Phantom.generate(7, PhantomOptions.defaults())) {
            assertArrayEquals(new int[] {64, 192, 192}, c.arterial().shape());
            assertTrue(c.venous().sameGrid(c.arterial()) && c.delayed().sameGrid(c.arterial()) && c.tumourMask().sameGrid(c.arterial()));
            Geometry g = c.arterial().geometry();
            assertEquals("LPS", g.orientation());
            assertArrayEquals(new double[] {0.8, 0.8, 2.5}, g.spacing(), 1e-12);
            PhantomTruth t = c.truth();
            assertEquals(4.0 / 3 * Math.PI * 16 * 14 * 21 / 1000, t.volumeMl(), 1e-12);
            assertEquals(42, t.maxDiameterMm(), 0);
            assertEquals(2, t.renalRPoints());
            TumourMeasurements m = TumourMeasurer.measure(c.tumourMask(), MaskSelection.largestComponent(), c.phases());
            // Counting voxel centres inside an ellipsoid: each boundary voxel is in or out by a fraction of a voxel,
            // with errors that largely cancel. Measured on noise-free phantoms with semi-axes from 8 to 44 mm the
            // error was at most 0.21%; 1% leaves room for other sizes. (The rigorous bound, every semi-axis grown or
            // shrunk by half a voxel diagonal, 1.37 mm, would allow about 30%.)
            assertEquals(t.volumeMl(), m.volumeMl(), 0.01 * t.volumeMl());
            // Voxel centres lie inside the ellipsoid, so the diameter cannot exceed 42 mm; the z-poles are sampled
            // every 2.5 mm, so it may fall short by up to one slice.
            assertTrue(m.maxDiameterMm() <= 42 && m.maxDiameterMm() > 42 - 2.5, "" + m.maxDiameterMm());
            assertEquals(2, m.renalRPoints());
            // HU inside the tumour: the enhancement plus N(0, 10^2) noise; 4 standard errors of the mean.
            double se = 10 / Math.sqrt(m.voxels());
            double[] hu = t.enhancementHu();
            for (int p = 0; p < 3; p++) {
                assertEquals(hu[p], m.phases().get(p).meanHu(), 4 * se, "phase " + p);
                assertEquals(10, m.phases().get(p).sdHu(), 0.5, "phase " + p);
            }
            // Clear-cell pattern: arterial enhancement, then wash-out.
            assertTrue(hu[0] > hu[1] && hu[1] > hu[2]);
            // Kidney: cortex brighter than medulla in the arterial phase, both enhanced in the venous phase.
            TumourMeasurements k = TumourMeasurer.measure(c.kidneyMask(), MaskSelection.largestComponent(), c.phases());
            assertTrue(k.phases().get(1).meanHu() > 140, "" + k.phases().get(1).meanHu());
            // Air in the image corner.
            assertEquals(-1000, c.arterial().get(0, 0, 0), 60);
        }
    }

    @Test
    void sameSeedSameImagesAndSeedsDiffer() {
        PhantomOptions o = PhantomOptions.defaults();
        try (PhantomCase a = Phantom.generate(3, o); PhantomCase b = Phantom.generate(3, o); PhantomCase d = Phantom.generate(4, o)) {
            long differ = 0;
            for (long i = 0; i < a.arterial().voxelCount(); i++) {
                assertEquals(a.arterial().get(i), b.arterial().get(i));
                differ += a.arterial().get(i) != d.arterial().get(i) ? 1 : 0;
            }
            assertTrue(differ > a.arterial().voxelCount() / 2);
        }
    }

    @Test
    void shiftedDelayedPhaseShowsTheSameAnatomyOnItsOwnGrid() {
        PhantomOptions o = PhantomOptions.defaults().withShiftedDelayed(true);
        try (PhantomCase c = Phantom.generate(5, o)) {
            Volume d = c.delayed();
            assertFalse(d.sameGrid(c.arterial()));
            assertArrayEquals(new int[] {53, 192, 192}, d.shape()); // round(64 * 2.5 / 3)
            assertArrayEquals(new double[] {0.8, 0.8, 3.0}, d.geometry().spacing(), 1e-12);
            // Tumour core (semi-axes shrunk by 4 mm, more than a voxel diagonal of either grid) on the arterial
            // grid, measured on the delayed phase by world-space trilinear sampling: only tumour voxels contribute,
            // so the mean is the delayed enhancement up to noise (interpolation only lowers the noise SD).
            PhantomTruth t = c.truth();
            double[] ctr = t.centreMm();
            double[] ax = t.semiAxesMm();
            try (Volume core = Volume.allocate(64, 192, 192, c.arterial().geometry(), "core")) {
                Geometry g = core.geometry();
                for (int z = 0; z < 64; z++) {
                    for (int y = 0; y < 192; y++) {
                        for (int x = 0; x < 192; x++) {
                            double[] w = g.toWorld(x, y, z);
                            double s = 0;
                            for (int a = 0; a < 3; a++) {
                                s += Math.pow((w[a] - ctr[a]) / (ax[a] - 4), 2);
                            }
                            core.set(z, y, x, s <= 1 ? 1 : 0);
                        }
                    }
                }
                TumourMeasurements m = TumourMeasurer.measure(core, MaskSelection.largestComponent(), List.of(d));
                assertEquals(t.enhancementHu()[2], m.phases().getFirst().meanHu(), 4 * 10 / Math.sqrt(m.voxels()));
                assertEquals(m.voxels(), m.phases().getFirst().samples());
            }
        }
    }

    @Test
    void cohortWritesCasesCsvWithRelativePathsAndAllRClasses() throws IOException {
        Path out = dir.resolve("cohort");
        Path csv = Phantom.writeCohort(out, 3, 11, PhantomOptions.defaults());
        List<String> lines = Files.readAllLines(csv);
        assertEquals("case_id,arterial,venous,delayed,mask", lines.getFirst());
        assertEquals(4, lines.size());
        List<String> truth = Files.readAllLines(out.resolve("truth.csv"));
        for (int i = 0; i < 3; i++) {
            String[] f = lines.get(i + 1).split(",");
            assertEquals(String.format("case_%03d", i), f[0]);
            for (int k = 1; k < 5; k++) {
                assertTrue(Files.isRegularFile(out.resolve(f[k])), f[k]);
            }
            String[] tr = truth.get(i + 1).split(",");
            int rTruth = Integer.parseInt(tr[3]);
            assertEquals(i + 1, rTruth); // classes cycle R = 1, 2, 3
            try (Volume mask = NiftiReader.read(out.resolve(f[4])); Volume art = NiftiReader.read(out.resolve(f[1]))) {
                TumourMeasurements m = TumourMeasurer.measure(mask, MaskSelection.largestComponent(), List.of(art));
                assertEquals(rTruth, m.renalRPoints(), "case " + i);
                // int16 storage rounds the noisy HU; the mean still matches 150 HU within 4 standard errors + 0.5.
                assertEquals(150, m.phases().getFirst().meanHu(), 4 * 10 / Math.sqrt(m.voxels()) + 0.5);
                assertEquals(Double.parseDouble(tr[1]), m.volumeMl(), 0.03 * Double.parseDouble(tr[1]), "case " + i);
            }
        }
        try (var s = Files.walk(out)) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().endsWith(".tmp")));
        }
    }
}
