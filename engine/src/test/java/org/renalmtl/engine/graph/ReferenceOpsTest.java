package org.renalmtl.engine.graph;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestReporter;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.renalmtl.weights.Tensor;
import org.renalmtl.weights.hdf5.Hdf5File;

/**
 * {@link Reference} against PyTorch, one op at a time: every case of {@code op_goldens.h5} (written by
 * {@code src/test/python/make_op_goldens.py} before the tests) becomes a one-node graph whose output
 * must be within the op's fixed {@link OpTolerance} of PyTorch's float64 result, element by element;
 * NaN exactly where PyTorch has NaN. PyTorch's own float32 error is reported beside ours, for scale.
 */
class ReferenceOpsTest {
    /** The truth is stored as float32 hi + lo, exact to 2⁻⁴⁸ of its size: allow twice that on top. */
    private static final double TRUTH_STORAGE = 0x1p-47;
    private static final int MAX_INDEX_BYTES = 1 << 20;

    static Path goldens() {
        String dir = System.getProperty("renalmtl.fixtures");
        if (dir == null) {
            throw new IllegalStateException("system property renalmtl.fixtures is not set (Maven sets it)");
        }
        return Path.of(dir, "op_goldens.h5");
    }

    static List<JsonNode> index() throws IOException {
        try (Hdf5File f = Hdf5File.open(goldens())) {
            List<JsonNode> out = new ArrayList<>();
            new ObjectMapper().readTree(f.readStringAttribute("cases", MAX_INDEX_BYTES)).forEach(out::add);
            return out;
        }
    }

    static Stream<Arguments> cases() throws IOException {
        return index().stream().map(c -> Arguments.of(Named.of(c.get("name").asText() + ": "
                + c.get("description").asText(), c)));
    }

    @Test
    void everyOpHasGoldens() throws IOException {
        TreeSet<String> missing = new TreeSet<>();
        for (Class<?> k : Op.class.getPermittedSubclasses()) {
            missing.add(k.getSimpleName());
        }
        index().forEach(c -> missing.remove(c.get("op").get("type").asText()));
        assertTrue(missing.isEmpty(), "ops without a PyTorch golden: " + missing);
    }

    @ParameterizedTest
    @MethodSource("cases")
    void matchesPyTorch(JsonNode c, TestReporter reporter) {
        String name = c.get("name").asText();
        try (Hdf5File f = Hdf5File.open(goldens()); Arena arena = Arena.ofConfined()) {
            Graph.Builder b = new Graph.Builder();
            Map<String, float[]> inputs = new LinkedHashMap<>();
            int[] ids = new int[c.get("inputs").size()];
            for (int i = 0; i < ids.length; i++) {
                String in = c.get("inputs").get(i).asText();
                ids[i] = b.input(in, f.info(name + "/" + in).shape());
                inputs.put(in, f.readFloats(name + "/" + in));
            }
            for (JsonNode k : c.get("constants")) {
                float[] data = f.readFloats(name + "/" + k.asText());
                b.constant(new Tensor(k.asText(), f.info(name + "/" + k.asText()).shape(),
                        arena.allocateFrom(ValueLayout.JAVA_FLOAT, data)));
            }
            Op op = op(c.get("op"));
            int y = b.add(name, op, ids);
            Graph g = b.output("y", y).build();
            assertArrayEquals(f.info(name + "/expected_hi").shape(), g.value(y).shape(), "output shape");

            float[] got = Reference.run(g, inputs).get("y");
            float[] hi = f.readFloats(name + "/expected_hi");
            float[] lo = f.readFloats(name + "/expected_lo");
            double[] truth = new double[hi.length];
            for (int i = 0; i < truth.length; i++) {
                truth[i] = hi[i] + (double) lo[i];
            }
            float[] torch = f.readFloats(name + "/torch_f32");
            OpTolerance tol = OpTolerance.of(op);
            Worst ours = Worst.of(got, truth, tol);
            Worst theirs = Worst.of(torch, truth, tol);
            reporter.publishEntry(name, String.format("ours %.3g ulp, %.3g abs; PyTorch float32 %.3g ulp, %.3g abs",
                    ours.ulps, ours.abs, theirs.ulps, theirs.abs));
            if (ours.over > 0) {
                fail(name + ": " + ours.over + " of " + got.length + " elements outside " + tol + "; worst at "
                        + Arrays.toString(unravel(ours.index, g.value(y).shape())) + " (flat " + ours.index
                        + "): ours " + got[ours.index] + ", float64 truth " + truth[ours.index] + ", PyTorch float32 "
                        + torch[ours.index] + ", |error| " + ours.worst + " > bound " + ours.bound);
            }
        }
    }

    @Test
    void runAllKeepsEveryValueAndNodesChain() {
        SplittableRandom r = new SplittableRandom(10);
        long[] xShape = {1, 3, 5, 7, 9};
        long[] wShape = {5, 3, 3, 3, 3};
        float[] x = random(r, xShape);
        float[] w = random(r, wShape);
        float[] bias = random(r, new long[] {5});
        Op.Conv3d conv = new Op.Conv3d("w", "b", Dims3.of(1), Dims3.of(1), Dims3.of(1), false, Activation.RELU);
        Op.MaxPool3d pool = new Op.MaxPool3d(Dims3.of(3), Dims3.of(2), Dims3.of(1));
        try (Arena arena = Arena.ofConfined()) {
            Graph.Builder b = new Graph.Builder()
                    .constant(new Tensor("w", wShape, arena.allocateFrom(ValueLayout.JAVA_FLOAT, w)))
                    .constant(new Tensor("b", new long[] {5}, arena.allocateFrom(ValueLayout.JAVA_FLOAT, bias)));
            int in = b.input("x", xShape);
            int c = b.add("conv", conv, in);
            int p = b.add("pool", pool, c);
            int gap = b.add("gap", new Op.GlobalAvgPool(), p);
            Graph g = b.output("features", gap).build();

            float[][] all = Reference.runAll(g, Map.of("x", x));
            assertEquals(g.values().size(), all.length);
            for (Value v : g.values()) {
                assertEquals(v.elements(), all[v.id()].length, "value " + v);
            }
            assertArrayEquals(x, all[in]);
            float[] convOut = ReferenceConv.conv3d(x, xShape, w, wShape, bias, conv, null);
            float[] poolOut = ReferenceConv.maxPool3d(convOut, g.value(c).shape(), pool);
            assertArrayEquals(convOut, all[c]);
            assertArrayEquals(poolOut, all[p]);
            assertArrayEquals(ReferenceNorm.globalAvgPool(poolOut, g.value(p).shape()), all[gap]);
            assertArrayEquals(all[gap], Reference.run(g, Map.of("x", x)).get("features"));
        }
    }

    @Test
    void refusesInputsThatDoNotFit() {
        Graph.Builder b = new Graph.Builder();
        int x = b.input("x", 2, 3);
        Graph g = b.output("y", b.add("add", new Op.Add(Activation.NONE), x, x)).build();
        assertThrows(IllegalArgumentException.class, () -> Reference.run(g, Map.of()));
        assertThrows(IllegalArgumentException.class, () -> Reference.run(g, Map.of("x", new float[5])));
        assertThrows(IllegalArgumentException.class,
                () -> Reference.run(g, Map.of("x", new float[6], "z", new float[6])));
        Op.Linear noBias = new Op.Linear("w", null, Activation.NONE);
        assertThrows(IllegalArgumentException.class, () -> Reference.linear(new float[6], new long[] {2, 3},
                new float[12], new long[] {4, 3}, new float[4], noBias));
    }

    /** The op a golden describes; components by their Java names, as make_op_goldens.py writes them. */
    private static Op op(JsonNode j) {
        String type = j.get("type").asText();
        return switch (type) {
            case "Conv3d" -> new Op.Conv3d(text(j, "weight"), text(j, "bias"), dims(j, "stride"), dims(j, "padding"),
                    dims(j, "dilation"), j.get("residual").asBoolean(), activation(j));
            case "ConvTranspose3d" -> new Op.ConvTranspose3d(text(j, "weight"), text(j, "bias"), dims(j, "stride"),
                    dims(j, "padding"), dims(j, "outputPadding"), activation(j));
            case "InstanceNorm3d" -> new Op.InstanceNorm3d(text(j, "scale"), text(j, "bias"),
                    (float) j.get("eps").asDouble(), activation(j));
            case "BatchNorm" -> new Op.BatchNorm(text(j, "scale"), text(j, "bias"), text(j, "mean"),
                    text(j, "variance"), (float) j.get("eps").asDouble(), activation(j));
            case "MaxPool3d" -> new Op.MaxPool3d(dims(j, "kernel"), dims(j, "stride"), dims(j, "padding"));
            case "GlobalAvgPool" -> new Op.GlobalAvgPool();
            case "Concat" -> new Op.Concat();
            case "Linear" -> new Op.Linear(text(j, "weight"), text(j, "bias"), activation(j));
            case "GateMix" -> new Op.GateMix();
            case "Add" -> new Op.Add(activation(j));
            case "ShortcutA" -> new Op.ShortcutA(j.get("stride").asInt(), j.get("channels").asInt());
            case "Slice" -> new Op.Slice(j.get("axis").asInt(), j.get("start").asLong(), j.get("length").asLong());
            case "Reshape" -> {
                long[] shape = new long[j.get("shape").size()];
                Arrays.setAll(shape, i -> j.get("shape").get(i).asLong());
                yield new Op.Reshape(shape);
            }
            default -> throw new IllegalArgumentException("golden of an unknown op " + type);
        };
    }

    private static String text(JsonNode j, String field) {
        return j.get(field).isNull() ? null : j.get(field).asText();
    }

    private static Dims3 dims(JsonNode j, String field) {
        JsonNode a = j.get(field);
        return new Dims3(a.get(0).asInt(), a.get(1).asInt(), a.get(2).asInt());
    }

    private static Activation activation(JsonNode j) {
        JsonNode a = j.get("activation");
        // the slope is written as the float32 value it is, so the cast is exact
        return new Activation(Activation.Kind.valueOf(a.get("kind").asText()), (float) a.get("slope").asDouble());
    }

    private static float[] random(SplittableRandom r, long[] shape) {
        float[] a = new float[(int) Shapes.elements(shape)];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return a;
    }

    private static long[] unravel(int flat, long[] shape) {
        long[] idx = new long[shape.length];
        for (int a = shape.length - 1; a >= 0; a--) {
            idx[a] = flat % shape[a];
            flat /= (int) shape[a];
        }
        return idx;
    }

    /**
     * The element farthest outside (or nearest to) its bound, in multiples of the bound.
     *
     * @param index flat index of that element
     * @param worst its |error| (infinite for a NaN where there should be none, or none where there should)
     * @param bound its bound
     * @param over how many elements exceed their bound
     * @param ulps the largest |error| in float32 ulps of the truth
     * @param abs the largest |error|
     */
    private record Worst(int index, double worst, double bound, int over, double ulps, double abs) {
        static Worst of(float[] got, double[] truth, OpTolerance tol) {
            assertEquals(truth.length, got.length, "element count");
            int index = 0;
            double worst = 0;
            double worstBound = 0;
            double worstRatio = -1;
            int over = 0;
            double ulps = 0;
            double abs = 0;
            for (int i = 0; i < got.length; i++) {
                double err = Double.isNaN(truth[i]) ? (Float.isNaN(got[i]) ? 0 : Double.POSITIVE_INFINITY)
                        : Float.isNaN(got[i]) ? Double.POSITIVE_INFINITY : Math.abs(got[i] - truth[i]);
                double bound = Double.isNaN(truth[i]) ? 0 : tol.bound(truth[i]) + TRUTH_STORAGE * Math.abs(truth[i]);
                double ratio = err == 0 ? 0 : err / bound;
                if (err > bound) {
                    over++;
                }
                if (ratio > worstRatio) {
                    worstRatio = ratio;
                    index = i;
                    worst = err;
                    worstBound = bound;
                }
                if (!Double.isNaN(truth[i])) {
                    ulps = Math.max(ulps, err / Math.ulp((float) Math.abs(truth[i])));
                    abs = Math.max(abs, err);
                }
            }
            return new Worst(index, worst, worstBound, over, ulps, abs);
        }
    }
}
