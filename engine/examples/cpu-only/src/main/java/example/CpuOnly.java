package example;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import org.renalmtl.engine.BuiltinModels;
import org.renalmtl.engine.Device;
import org.renalmtl.engine.Model;
import org.renalmtl.engine.Prediction;

/**
 * One prediction with the engine alone on the class path: the built-in seeded model, {@code auto}
 * device (which must land on the CPU, there being no CUDA backend), an all-zero input. Also shows
 * that asking for CUDA is refused with a message naming the missing artifact. Exit 0 when all of
 * that holds, 1 otherwise.
 */
public final class CpuOnly {
    private CpuOnly() {}

    /**
     * Entry point; takes no arguments.
     *
     * @param args none
     */
    public static void main(String[] args) {
        if (args.length != 0) {
            System.err.println("cpu-only: error: takes no arguments");
            System.exit(2);
        }
        try {
            // The device is checked before the file is read, so the file need not exist.
            Model.load(Path.of("never-read.h5"), Device.cuda(0)).close();
            System.err.println("cpu-only: cuda:0 was accepted, so a CUDA backend is on the class path");
            System.exit(1);
        } catch (UnsupportedOperationException e) {
            System.out.println("cuda refused: " + e.getMessage());
        }
        Device ran;
        try (Model model = BuiltinModels.create(BuiltinModels.Kind.MTDL, 2026, Device.AUTO);
                Arena arena = Arena.ofConfined()) {
            int[] s = model.inputSize();
            // (phases, D, H, W), zero-filled by allocate: the point is the machinery, not the answer.
            MemorySegment volumes = arena.allocate((long) model.config().phases().size() * s[0] * s[1] * s[2] * Float.BYTES, 64);
            Prediction p = model.predict(volumes);
            System.out.println("model " + model);
            for (Prediction.TaskResult t : p.tasks()) {
                System.out.printf("  %-6s p = %.4f -> %s%n", t.task(), t.probability(), t.label());
            }
            ran = model.device();
        }
        if (ran.kind() != Device.Kind.CPU) {
            System.err.println("cpu-only: ran on " + ran + ", not the CPU");
            System.exit(1);
        }
    }
}
