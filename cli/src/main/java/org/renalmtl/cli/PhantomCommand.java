package org.renalmtl.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.renalmtl.loader.VolumeInputException;
import org.renalmtl.loader.phantom.Phantom;
import org.renalmtl.loader.phantom.PhantomOptions;
import org.renalmtl.loader.phantom.PhantomTruth;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code renal-mtl phantom --out DIR [--cases N]}: writes a synthetic three-phase case (or a cohort of them) as
 * NIfTI. Bad output paths throw {@link VolumeInputException}, which the top-level command maps to exit code 2.
 */
@Command(name = "phantom", mixinStandardHelpOptions = true,
    description = {"Write a synthetic three-phase renal CT with tumour and kidney masks as NIfTI.",
        "One case: DIR/{arterial,venous,delayed,mask,kidney}.nii.gz and DIR/truth.csv.",
        "--cases N: DIR/case_XXX/... for N cases, DIR/cases.csv (case_id,arterial,venous,delayed,mask; paths relative "
            + "to DIR) and DIR/truth.csv (analytic tumour volume, diameter, R.E.N.A.L. R)."})
public final class PhantomCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output directory (created if missing).")
    private Path out;

    @Option(names = "--cases", paramLabel = "N", defaultValue = "0",
        description = "Write a cohort of N cases instead of one (default: one case directly in DIR).")
    private int cases;

    @Option(names = "--seed", defaultValue = "1", description = "Random seed (default: ${DEFAULT-VALUE}).")
    private long seed;

    @Option(names = "--tumour-mm", split = ",", paramLabel = "A,B,C",
        description = "Tumour semi-axes x,y,z in mm for a single case (default: 16,14,21).")
    private double[] tumourMm;

    @Option(names = "--noise", paramLabel = "HU", defaultValue = "10", description = "Noise SD in HU (default: ${DEFAULT-VALUE}).")
    private double noise;

    @Option(names = "--shifted-delayed", description = "Put the delayed phase on its own grid (3 mm slices, shifted origin).")
    private boolean shiftedDelayed;

    @Override
    public Integer call() {
        PrintWriter w = spec.commandLine().getOut();
        if (cases < 0) {
            throw new VolumeInputException("--cases: must be at least 1 (or left out for one case), got " + cases);
        }
        if (!(noise >= 0) || !Double.isFinite(noise)) {
            throw new VolumeInputException("--noise: must be a finite SD >= 0 HU, got " + noise);
        }
        if (tumourMm != null && cases > 0) {
            throw new VolumeInputException("--tumour-mm: not used with --cases (cohort tumour sizes cycle through the R classes)");
        }
        PhantomOptions o = PhantomOptions.defaults().withNoise(noise).withShiftedDelayed(shiftedDelayed);
        if (tumourMm != null) {
            if (tumourMm.length != 3 || tumourMm[0] <= 0 || tumourMm[1] <= 0 || tumourMm[2] <= 0) {
                throw new VolumeInputException("--tumour-mm: need three positive semi-axes a,b,c in mm");
            }
            o = o.withTumour(tumourMm);
        }
        Phantom.checkFits(o);
        if (cases > 0) {
            Path csv = Phantom.writeCohort(out, cases, seed, o);
            w.printf(Locale.ROOT, "wrote %d phantom cases under %s; list: %s%n", cases, out, csv);
            return 0;
        }
        PhantomTruth t = Phantom.writeCase(out, seed, o);
        w.printf(Locale.ROOT, "wrote phantom to %s: %dx%dx%d voxels (x,y,z) of %.1fx%.1fx%.1f mm, tumour %.1f ml, "
                + "max diameter %.1f mm (R=%d)%n", out, o.nx(), o.ny(), o.nz(), o.spacingMm()[0], o.spacingMm()[1],
                o.spacingMm()[2], t.volumeMl(), t.maxDiameterMm(), t.renalRPoints());
        return 0;
    }
}
