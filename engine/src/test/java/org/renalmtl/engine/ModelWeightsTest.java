package org.renalmtl.engine;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Weights live once: a model loaded from a file releases the file's tensors once its first plan has
 * packed them, and re-reads the file (checked again) when another shape needs a plan.
 */
class ModelWeightsTest {
    @TempDir
    Path dir;

    @Test
    void anotherShapeReReadsTheFileAndGivesWhatAFreshModelGives() {
        Path file = dir.resolve("mtdl.h5");
        BuiltinModels.write(BuiltinModels.Kind.MTDL, 7, file);
        int[] first = {32, 32, 32};
        int[] second = {24, 40, 32};
        try (Arena arena = Arena.ofConfined(); Model m = Model.load(file, Device.CPU);
                Model fresh = Model.load(file, Device.CPU)) {
            MemorySegment a = input(arena, first, 1);
            MemorySegment b = input(arena, second, 2);
            float[] viaRelease = new float[3];
            float[] viaFresh = new float[3];
            m.forward(a, 1, first, probs(arena));
            // The first plan released the file's tensors: this plan re-reads the file.
            MemorySegment p = probs(arena);
            m.forward(b, 1, second, p);
            MemorySegment.copy(p, JAVA_FLOAT, 0, viaRelease, 0, 3);
            MemorySegment q = probs(arena);
            fresh.forward(b, 1, second, q);
            MemorySegment.copy(q, JAVA_FLOAT, 0, viaFresh, 0, 3);
            assertArrayEquals(viaFresh, viaRelease, 0f);
        }
    }

    @Test
    void aPlanThatFailsAfterFoldingIntoTheFilesTensorsLeavesNoTwiceFoldedWeights() {
        Path file = dir.resolve("mtdl.h5");
        BuiltinModels.write(BuiltinModels.Kind.MTDL, 7, file);
        int[] size = {32, 32, 32};
        try (Arena arena = Arena.ofConfined(); Model m = Model.load(file, Device.CPU);
                Model fresh = Model.load(file, Device.CPU)) {
            // BatchNorm is folded into the file's own tensors before the memory check refuses 1024³.
            assertThrows(ModelRunException.class, () -> m.plan(1, new int[] {1024, 1024, 1024}));
            MemorySegment in = input(arena, size, 3);
            MemorySegment p = probs(arena);
            MemorySegment q = probs(arena);
            m.forward(in, 1, size, p);
            fresh.forward(in, 1, size, q);
            assertArrayEquals(q.toArray(JAVA_FLOAT), p.toArray(JAVA_FLOAT), 0f);
        }
    }

    @Test
    void aWeightFileReplacedByAnotherModelIsRefusedNotMixedIn() throws Exception {
        Path file = dir.resolve("model.h5");
        Path other = dir.resolve("stdl.h5");
        BuiltinModels.write(BuiltinModels.Kind.MTDL, 7, file);
        BuiltinModels.write(BuiltinModels.Kind.STDL, 7, other);
        try (Arena arena = Arena.ofConfined(); Model m = Model.load(file, Device.CPU)) {
            m.forward(input(arena, new int[] {32, 32, 32}, 1), 1, new int[] {32, 32, 32}, probs(arena));
            Files.copy(other, file, StandardCopyOption.REPLACE_EXISTING);
            ModelRunException e = assertThrows(ModelRunException.class,
                    () -> m.forward(input(arena, new int[] {24, 24, 24}, 1), 1, new int[] {24, 24, 24}, probs(arena)));
            assertEquals(file + ": the weight file changed since the model was loaded", e.getMessage());
        }
    }

    @Test
    void planReportsMemoryWithoutHandingOutThePlan() {
        try (Model m = BuiltinModels.create(BuiltinModels.Kind.MTDL, 1, Device.CPU)) {
            PlanMemory mem = m.plan(1, new int[] {32, 32, 32});
            assertTrue(mem.weightBytes() > 0 && mem.activationBytes() >= mem.activationLowerBound()
                    && mem.activationLowerBound() > 0, mem::toString);
        }
    }

    private static MemorySegment input(Arena arena, int[] size, long seed) {
        long n = 3L * size[0] * size[1] * size[2];
        MemorySegment in = arena.allocate(n * Float.BYTES, 64);
        java.util.SplittableRandom r = new java.util.SplittableRandom(seed);
        for (long i = 0; i < n; i++) {
            in.setAtIndex(JAVA_FLOAT, i, (float) r.nextGaussian());
        }
        return in;
    }

    private static MemorySegment probs(Arena arena) {
        return arena.allocate(3 * Float.BYTES, 64);
    }
}
