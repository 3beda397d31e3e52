package org.renalmtl.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The checks that keep the benchmark from timing peers of another (or an older) model file. */
class PeerModelsTest {
    @TempDir
    Path dir;

    private Path model;

    /** A directory laid out the way export_peers.py leaves it; file contents are not read here. */
    private void layout(String source, String what, String inputShape, String outputShape) throws IOException {
        model = Files.writeString(dir.resolve("m.h5"), "weights");
        Files.writeString(dir.resolve("model.pt"), "ts");
        Files.writeString(dir.resolve("model.onnx"), "onnx");
        Files.setLastModifiedTime(model, FileTime.from(Instant.parse("2026-01-01T00:00:00Z")));
        Files.writeString(dir.resolve("peers.json"), """
                {"source": "%s", "what": "%s", "input_name": "x", "input_shape": %s,
                 "output_name": "probabilities", "output_shape": %s,
                 "torchscript": "model.pt", "onnx": "model.onnx"}
                """.formatted(source, what, inputShape, outputShape));
    }

    @Test
    void readsAMatchingExport() throws IOException {
        layout(dir.resolve("m.h5").toString(), "whole model", "[1, 3, 96, 96, 96]", "[1, 3]");
        PeerModels p = PeerModels.open(model, dir);
        assertArrayEquals(new long[] {1, 3, 96, 96, 96}, p.inputShape());
        assertEquals(3, p.tasks());
        assertEquals(1, p.cases());
        assertEquals(3L * 96 * 96 * 96, p.inputElements());
        assertEquals("x", p.inputName());
        assertEquals(dir.resolve("model.onnx"), p.onnx());
        assertTrue(p.featurePeer().isEmpty());
    }

    @Test
    void readsTheBackboneCopyBeside() throws IOException {
        layout(dir.resolve("m.h5").toString(), "whole model", "[1, 3, 96, 96, 96]", "[1, 3]");
        backbone(dir.resolve("m.h5").toString(), "backbone of network 'mtdl' (fusion batch)", "[3, 1, 96, 96, 96]",
                "[3, 512]");
        PeerModels.Backbone b = PeerModels.open(model, dir).featurePeer().orElseThrow();
        assertArrayEquals(new long[] {3, 1, 96, 96, 96}, b.inputShape());
        assertEquals(1536, b.features());
        assertEquals(dir.resolve("backbone/model.pt"), b.torchScript());
    }

    @Test
    void separateFusionBackboneIsRefused() throws IOException {
        // with fusion "separate" the copy is phase 0's backbone only: not the fused feature vector
        layout(dir.resolve("m.h5").toString(), "whole model", "[1, 3, 96, 96, 96]", "[1, 3]");
        backbone(dir.resolve("m.h5").toString(), "backbone of network 'mtdl' (fusion separate, phase 0)",
                "[1, 1, 96, 96, 96]", "[1, 512]");
        BenchmarkSetupException e = assertThrows(BenchmarkSetupException.class, () -> PeerModels.open(model, dir));
        assertTrue(e.getMessage().contains("backbone/peers.json"), e.getMessage());
    }

    @Test
    void backboneOfAnotherSizeIsRefused() throws IOException {
        layout(dir.resolve("m.h5").toString(), "whole model", "[1, 3, 96, 96, 96]", "[1, 3]");
        backbone(dir.resolve("m.h5").toString(), "backbone of network 'mtdl' (fusion batch)", "[3, 1, 64, 64, 64]",
                "[3, 512]");
        BenchmarkSetupException e = assertThrows(BenchmarkSetupException.class, () -> PeerModels.open(model, dir));
        assertTrue(e.getMessage().contains("does not match"), e.getMessage());
    }

    private void backbone(String source, String what, String inputShape, String outputShape) throws IOException {
        Path b = Files.createDirectories(dir.resolve("backbone"));
        Files.writeString(b.resolve("model.pt"), "ts");
        Files.writeString(b.resolve("peers.json"), """
                {"source": "%s", "what": "%s", "input_name": "x", "input_shape": %s,
                 "output_name": "features", "output_shape": %s, "torchscript": "model.pt"}
                """.formatted(source, what, inputShape, outputShape));
    }

    @Test
    void peersOfAnotherFileAreRefused() throws IOException {
        layout("/elsewhere/other.h5", "whole model", "[1, 3, 96, 96, 96]", "[1, 3]");
        BenchmarkSetupException e = assertThrows(BenchmarkSetupException.class, () -> PeerModels.open(model, dir));
        assertTrue(e.getMessage().contains("peers.json"), e.getMessage());
    }

    @Test
    void peersOlderThanTheModelAreRefused() throws IOException {
        layout(dir.resolve("m.h5").toString(), "whole model", "[1, 3, 96, 96, 96]", "[1, 3]");
        Files.setLastModifiedTime(dir.resolve("peers.json"), FileTime.from(Instant.parse("2025-01-01T00:00:00Z")));
        BenchmarkSetupException e = assertThrows(BenchmarkSetupException.class, () -> PeerModels.open(model, dir));
        assertTrue(e.getMessage().contains("stale"), e.getMessage());
    }

    @Test
    void backboneOnlyPeersAreRefused() throws IOException {
        layout(dir.resolve("m.h5").toString(), "backbone of network 'mtdl' (fusion batch)", "[3, 1, 96, 96, 96]",
                "[3, 512]");
        BenchmarkSetupException e = assertThrows(BenchmarkSetupException.class, () -> PeerModels.open(model, dir));
        assertTrue(e.getMessage().contains("whole-model"), e.getMessage());
    }

    @Test
    void missingOnnxIsNamed() throws IOException {
        layout(dir.resolve("m.h5").toString(), "whole model", "[1, 3, 96, 96, 96]", "[1, 3]");
        Files.delete(dir.resolve("model.onnx"));
        BenchmarkSetupException e = assertThrows(BenchmarkSetupException.class, () -> PeerModels.open(model, dir));
        assertTrue(e.getMessage().contains("model.onnx"), e.getMessage());
    }

    @Test
    void badShapeIsNamed() throws IOException {
        layout(dir.resolve("m.h5").toString(), "whole model", "[1, 3, 96, 96]", "[1, 3]");
        BenchmarkSetupException e = assertThrows(BenchmarkSetupException.class, () -> PeerModels.open(model, dir));
        assertTrue(e.getMessage().contains("input_shape"), e.getMessage());
    }
}
