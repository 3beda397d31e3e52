import java.nio.file.Path;
import org.renalmtl.engine.Device;
import org.renalmtl.engine.Model;
import org.renalmtl.engine.PlanMemory;

/**
 * Prints what the engine plans for one case of a weight file, in MiB: packed weights, activation arena,
 * scratch, and the network input (phases × D × H × W float32). Run by predict-rss.sh with the CLI's class
 * path (java's source-file mode: nothing to build).
 */
public final class PlanFigures {
    public static void main(String[] args) {
        try (Model m = Model.load(Path.of(args[0]), Device.CPU)) {
            int[] s = m.inputSize();
            PlanMemory p = m.plan(1, s);
            long input = (long) m.config().phases().size() * s[0] * s[1] * s[2] * Float.BYTES;
            double mib = 1 << 20;
            System.out.printf("weights_mib %.1f%narena_mib %.1f%nscratch_mib %.1f%ninput_mib %.1f%nsum_mib %.1f%n",
                    p.weightBytes() / mib, p.activationBytes() / mib, p.scratchBytes() / mib, input / mib,
                    (p.weightBytes() + p.activationBytes() + p.scratchBytes() + input) / mib);
        }
    }
}
