package org.renalmtl.pipeline;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import org.renalmtl.loader.ImageInput;
import org.renalmtl.loader.Volume;
import org.renalmtl.loader.preprocess.PreprocessedInput;

/**
 * What a report warns about: inputs that run but are probably not what the user meant. Each warning is one line
 * (the report's {@code warnings}; the command line also prints it on stderr).
 *
 * <ul>
 *   <li>Two phases given the same file (or the same DICOM series), or files with identical voxels: the same scan
 *       given twice, which a multiphase model cannot tell from real phases.</li>
 *   <li>The tumour touching an edge of the reference scan: it may continue beyond it, so its volume, diameter and
 *       crop may be incomplete. Edges are named by the patient's side (the voxel axis's closest world axis).</li>
 *   <li>The tumour region with its margin reaching beyond a phase's scan: the network sees the HU window's low end
 *       there, which it was not trained on.</li>
 * </ul>
 */
final class CaseWarnings {
    private CaseWarnings() {
    }

    /**
     * @param names   phase names
     * @param inputs  what the user gave per phase
     * @param loaded  what was read per phase
     * @return one warning per pair of phases that are the same scan
     */
    static List<String> duplicates(List<String> names, List<ImageInput> inputs, List<ImageInput.Loaded> loaded) {
        List<String> w = new ArrayList<>();
        for (int p = 0; p < inputs.size(); p++) {
            for (int q = p + 1; q < inputs.size(); q++) {
                String pair = "the " + names.get(p) + " and " + names.get(q) + " phases";
                ImageInput a = inputs.get(p);
                if (sameFile(a.path(), inputs.get(q).path())
                        && Objects.equals(loaded.get(p).dicom(), loaded.get(q).dicom())) {
                    w.add(pair + " are the same " + (a.isDicom() ? "DICOM series" : "file") + " (" + a.path()
                            + "): give each phase its own scan");
                } else if (identicalVoxels(loaded.get(p).volume(), loaded.get(q).volume())) {
                    w.add(pair + " have identical voxels (" + a.path() + ", " + inputs.get(q).path()
                            + "): the same scan given twice?");
                }
            }
        }
        return w;
    }

    /**
     * @param names    phase names
     * @param phases   the phase volumes, the reference first
     * @param input    the network input made from them
     * @param marginMm the ROI margin
     * @param huLow    the value the network sees outside a scan
     * @return warnings about the tumour at the reference scan's edges and the ROI beyond any phase's scan
     */
    static List<String> edges(List<String> names, List<Volume> phases, PreprocessedInput input, double marginMm,
                              double huLow) {
        List<String> w = new ArrayList<>();
        Volume ref = phases.getFirst();
        int[] dims = ref.shape(); // (nz, ny, nx)
        int[] lo = input.roi().maskLo(); // (z, y, x)
        int[] hi = input.roi().maskHi();
        int[][] axes = ref.geometry().closestAxes(); // voxel axis i, j, k -> {world axis, sign}
        String[][] sides = {{"left", "right"}, {"posterior", "anterior"}, {"inferior", "superior"}};
        String[] axisNames = {"z", "y", "x"};
        List<String> touched = new ArrayList<>();
        for (int a = 0; a < 3; a++) {
            int[] ax = axes[2 - a];
            if (lo[a] == 0) {
                touched.add(sides[ax[0]][ax[1] > 0 ? 0 : 1] + " (" + axisNames[a] + " = 0)");
            }
            if (hi[a] == dims[a] - 1) {
                touched.add(sides[ax[0]][ax[1] > 0 ? 1 : 0] + " (" + axisNames[a] + " = " + (dims[a] - 1) + ")");
            }
        }
        if (!touched.isEmpty()) {
            w.add("the tumour touches the " + String.join(", ", touched) + " edge" + (touched.size() > 1 ? "s" : "")
                    + " of the " + names.getFirst() + " scan (" + ref.source() + "): it may continue beyond it, so its"
                    + " volume, diameter and crop may be incomplete");
        }
        double[] coverage = input.coverage();
        for (int p = 0; p < coverage.length; p++) {
            if (coverage[p] < 1) {
                w.add(String.format(Locale.ROOT, "the tumour region with its %s mm margin reaches beyond the %s scan (%s),"
                        + " which covers %.0f%% of it: the network sees %s HU there", fmt(marginMm), names.get(p),
                        phases.get(p).source(), Math.floor(coverage[p] * 100), fmt(huLow)));
            }
        }
        return w;
    }

    private static String fmt(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
    }

    private static boolean sameFile(Path a, Path b) {
        try {
            return Files.isSameFile(a, b);
        } catch (IOException e) {
            return false; // both were just read; a race is no reason to fail the case
        }
    }

    private static boolean identicalVoxels(Volume a, Volume b) {
        return a.nx() == b.nx() && a.ny() == b.ny() && a.nz() == b.nz() && a.data().mismatch(b.data()) == -1;
    }
}
