package org.renalmtl.engine;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.renalmtl.weights.ConfigParser;
import org.renalmtl.weights.ModelConfig;
import org.renalmtl.weights.SeededWeights;
import org.renalmtl.weights.Tensor;

/**
 * What issue 9 found the engine doing with a hostile model or a careless caller: a forward after
 * close (or during it) crashed the JVM; overflowing weights came out as NaN or as a plausible
 * probability; an input too small for the strides or too big for the machine ended in internal
 * errors and OutOfMemoryError. Each is now an exception that names the model and the problem.
 */
class ModelRunSafetyTest {
    private static final int[] SIZE = {24, 24, 24};

    private static MemorySegment input(Arena arena, ModelConfig c, int[] size) {
        return arena.allocate((long) c.phases().size() * size[0] * size[1] * size[2] * Float.BYTES, 64);
    }

    @Test
    void forwardAfterCloseIsAnExceptionNotACrash() {
        try (Arena arena = Arena.ofConfined()) {
            Model m = BuiltinModels.create(BuiltinModels.Kind.MTDL, 1, Device.CPU);
            MemorySegment in = input(arena, m.config(), SIZE);
            MemorySegment probs = arena.allocate(3 * Float.BYTES, 64);
            m.forward(in, 1, SIZE, probs); // the plan exists and is the last one used
            m.close();
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> m.forward(in, 1, SIZE, probs));
            assertTrue(e.getMessage().startsWith("model closed"), e.getMessage());
            assertThrows(IllegalStateException.class, () -> m.lastFeatures(0));
            assertThrows(IllegalStateException.class, () -> m.predict(in));
        }
    }

    @Test
    void closingWhileAnotherThreadForwardsNeverCrashes() throws Exception {
        try (Arena arena = Arena.ofShared()) {
            Model m = BuiltinModels.create(BuiltinModels.Kind.MTDL, 2, Device.CPU);
            MemorySegment in = input(arena, m.config(), SIZE);
            MemorySegment probs = arena.allocate(3 * Float.BYTES, 64);
            CountDownLatch running = new CountDownLatch(1);
            AtomicReference<Throwable> ended = new AtomicReference<>();
            Thread t = new Thread(() -> {
                try {
                    while (true) {
                        m.forward(in, 1, SIZE, probs);
                        running.countDown();
                    }
                } catch (Throwable e) {
                    ended.set(e);
                }
            });
            t.start();
            running.await();
            m.close();
            t.join(60_000);
            assertTrue(ended.get() instanceof IllegalStateException, () -> "ended with " + ended.get());
        }
    }

    @Test
    void aNonFiniteOutputIsAnErrorNamingTheModelNeverAProbability() {
        ModelConfig c = BuiltinModels.config(BuiltinModels.Kind.MTDL);
        try (Arena arena = Arena.ofShared()) {
            Map<String, Tensor> tensors = SeededWeights.generate(c, 3, arena);
            // Tower weights of ±3e38 (finite, and weights built in memory pass no file check): the logits
            // become +Inf - Inf = NaN, which must not come out as a probability.
            tensors.values().stream().filter(t -> t.name().contains("tower") && t.name().endsWith(".weight"))
                    .forEach(t -> {
                        for (long i = 0; i < t.elements(); i++) {
                            t.data().setAtIndex(JAVA_FLOAT, i, i % 2 == 0 ? 3e38f : -3e38f);
                        }
                    });
            try (Model m = Model.of(c, tensors, null, Device.CPU)) {
                MemorySegment in = input(arena, c, SIZE);
                for (long i = 0; i < in.byteSize() / Float.BYTES; i++) {
                    in.setAtIndex(JAVA_FLOAT, i, (i % 7) - 3f);
                }
                MemorySegment probs = arena.allocate(3 * Float.BYTES, 64);
                ModelRunException e = assertThrows(ModelRunException.class, () -> m.forward(in, 1, SIZE, probs));
                assertTrue(e.getMessage().startsWith("model " + c.name() + ": the network's output for task '"),
                        e.getMessage());
                // Which tower overflows first depends on the seeded weights; the one named is the task reported.
                assertTrue(e.getMessage().matches(".*output for task '(\\w+)' is NaN \\(case 0\\); the first non-finite "
                        + "value appears after network '" + c.networks().getFirst().name() + "', node head\\.towers\\.\\d\\.\\S+"
                        + ": the weights or the input overflow float32"), e.getMessage());
            }
        }
    }

    @Test
    void weightsThatAreNotFiniteOnceFoldedAreRefusedBeforeTheyRun() {
        ModelConfig c = BuiltinModels.config(BuiltinModels.Kind.MTDL);
        try (Arena arena = Arena.ofShared()) {
            Map<String, Tensor> tensors = SeededWeights.generate(c, 3, arena);
            // A NaN variance (in memory: no file check sees it) folds into NaN weights; the ReLU after that
            // conv would turn its NaN output into zeros (x86 max) and the network would answer plausibly.
            Tensor var = tensors.values().stream()
                    .filter(t -> t.name().endsWith("layer2.0.bn1.running_var")).findFirst().orElseThrow();
            var.data().setAtIndex(JAVA_FLOAT, 5, Float.NaN);
            try (Model m = Model.of(c, tensors, null, Device.CPU)) {
                MemorySegment in = input(arena, c, SIZE);
                MemorySegment probs = arena.allocate(3 * Float.BYTES, 64);
                ModelRunException e = assertThrows(ModelRunException.class, () -> m.forward(in, 1, SIZE, probs));
                assertEquals("layer backbone.layer2.0.conv1 folded with BatchNorm " + var.name().replace(".running_var", "")
                        + " has a weight of NaN: its tensors overflow float32 or a variance is negative", e.getMessage());
            }
        }
    }

    @Test
    void theErrorNamesTheFirstLayerWhoseOutputIsNotFinite() {
        ModelConfig c = BuiltinModels.config(BuiltinModels.Kind.MTDL);
        try (Arena arena = Arena.ofShared()) {
            Map<String, Tensor> tensors = SeededWeights.generate(c, 3, arena);
            // Finite but huge weights in the last block (in memory: no file check sees them): its first conv
            // reaches ~1e34, the second overflows to ±Inf; the +Inf channels pass the ReLU and the pooling, so
            // the features are infinite, and the error must point at that conv, not at the features.
            tensors.values().stream().filter(t -> t.name().matches(".*layer4\\.1\\.conv[12]\\.weight"))
                    .forEach(t -> t.data().fill((byte) 0x71)); // 0x71717171 = 1.2e30
            try (Model m = Model.of(c, tensors, null, Device.CPU)) {
                MemorySegment in = input(arena, c, SIZE);
                for (long i = 0; i < in.byteSize() / Float.BYTES; i++) {
                    in.setAtIndex(JAVA_FLOAT, i, (i % 7) - 3f);
                }
                MemorySegment probs = arena.allocate(3 * Float.BYTES, 64);
                ModelRunException e = assertThrows(ModelRunException.class, () -> m.forward(in, 1, SIZE, probs));
                assertTrue(e.getMessage().matches(".*; the first non-finite value appears after network '"
                        + c.networks().getFirst().name() + "', node backbone\\.layer4\\.1\\.conv2: .*"),
                        e.getMessage());
            }
        }
    }

    @Test
    void aNonFiniteInputIsRefused() {
        try (Arena arena = Arena.ofConfined(); Model m = BuiltinModels.create(BuiltinModels.Kind.MTDL, 1, Device.CPU)) {
            MemorySegment in = input(arena, m.config(), SIZE);
            in.setAtIndex(JAVA_FLOAT, 1234, Float.NaN);
            MemorySegment probs = arena.allocate(3 * Float.BYTES, 64);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> m.forward(in, 1, SIZE, probs));
            assertEquals("input holds NaN at element 1234: every input value must be finite", e.getMessage());
        }
    }

    @Test
    void anInputTooSmallForTheStridesIsNamed() {
        // An unpadded 7³ stem: a 6³ input leaves nothing to convolve.
        String json = BuiltinModels.config(BuiltinModels.Kind.MTDL).json()
                .replaceFirst("\"padding\"\\s*:\\s*\\[\\s*3\\s*,\\s*3\\s*,\\s*3\\s*\\]", "\"padding\": [0, 0, 0]");
        ModelConfig c = ConfigParser.parse(json, Path.of("unpadded-stem.h5"));
        assertEquals(0, c.networks().getFirst().backbone().stem().padding()[0]);
        int[] tiny = {6, 6, 6};
        try (Arena arena = Arena.ofShared(); Model m = Model.of(c, SeededWeights.generate(c, 4, arena), null, Device.CPU)) {
            MemorySegment probs = arena.allocate(3 * Float.BYTES, 64);
            ModelRunException e = assertThrows(ModelRunException.class,
                    () -> m.forward(input(arena, c, tiny), 1, tiny, probs));
            assertTrue(e.getMessage().startsWith("input too small for the network's strides"), e.getMessage());
        }
    }

    @Test
    void aPlanBiggerThanTheMachineIsRefusedBeforeAllocation() {
        try (Model m = BuiltinModels.create(BuiltinModels.Kind.MTDL, 5, Device.CPU)) {
            // 3 phases of 1024³: the stem's output alone is 3 × 64 × 512³ floats ≈ 103 GB.
            ModelRunException e = assertThrows(ModelRunException.class, () -> m.plan(1, new int[] {1024, 1024, 1024}));
            assertTrue(e.getMessage().matches("needs \\d+\\.\\d GB of activations (and scratch )?for 1 case\\(s\\) of "
                    + "1024×1024×1024; this machine has \\d+\\.\\d GB"), e.getMessage());
        }
    }
}
