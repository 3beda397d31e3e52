package org.renalmtl.segmentation;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * One case written by src/test/python/make_fixtures.py (the Python reference of nnU-Net's steps): its
 * settings, the input files, the reference properties and every stage's arrays.
 */
final class OracleCase {

    final String name;
    final Path dir;
    final JsonNode json;
    final SegmentationSettings settings;
    final List<Path> files;

    private OracleCase(String name) {
        String root = System.getProperty("renalmtl.fixtures");
        if (root == null) {
            throw new IllegalStateException("renalmtl.fixtures is not set: run the tests through Maven");
        }
        this.name = name;
        this.dir = Path.of(root, name);
        try {
            this.json = new ObjectMapper().readTree(dir.resolve("case.json").toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        this.settings = settings(json.get("settings"));
        this.files = new ArrayList<>();
        json.get("files").forEach(f -> files.add(Path.of(f.asText())));
    }

    static OracleCase load(String name) {
        return new OracleCase(name);
    }

    private static SegmentationSettings settings(JsonNode s) {
        List<ChannelNormalization> ch = new ArrayList<>();
        for (JsonNode c : s.get("channels")) {
            ChannelNormalization.Scheme scheme = ChannelNormalization.Scheme.fromPlansName(c.get("name").asText());
            ch.add(switch (scheme) {
                case CT_NORMALIZATION -> ChannelNormalization.ct(c.get("mean").asDouble(), c.get("std").asDouble(),
                    c.get("percentile_00_5").asDouble(), c.get("percentile_99_5").asDouble());
                case ZSCORE_NORMALIZATION -> ChannelNormalization.zScore(c.get("use_mask_for_norm").asBoolean());
                case NO_NORMALIZATION -> ChannelNormalization.none();
            });
        }
        JsonNode rco = s.get("regions_class_order");
        return new SegmentationSettings(ints(s.get("patch_size")), doubles(s.get("spacing")),
            ints(s.get("transpose_forward")), ints(s.get("transpose_backward")), ch,
            kwargs(s.get("resampling").get("data")), kwargs(s.get("resampling").get("probabilities")),
            s.get("num_heads").asInt(), rco == null || rco.isNull() ? null : ints(rco), ints(s.get("mirroring_axes")));
    }

    private static ResamplingKwargs kwargs(JsonNode k) {
        JsonNode f = k.get("force_separate_z");
        return new ResamplingKwargs(k.get("order").asInt(), k.get("order_z").asInt(),
            f == null || f.isNull() ? null : f.asBoolean(), k.get("separate_z_anisotropy_threshold").asDouble());
    }

    static int[] ints(JsonNode a) {
        int[] v = new int[a.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = a.get(i).asInt();
        }
        return v;
    }

    static double[] doubles(JsonNode a) {
        double[] v = new double[a.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = a.get(i).asDouble();
        }
        return v;
    }

    int[] prop(String key) {
        return ints(json.get("properties").get(key));
    }

    int[] bbox(int end) {
        JsonNode b = json.get("properties").get("bbox");
        return new int[] {b.get(0).get(end).asInt(), b.get(1).get(end).asInt(), b.get(2).get(end).asInt()};
    }

    private ByteBuffer raw(String file) {
        try {
            return ByteBuffer.wrap(Files.readAllBytes(dir.resolve(file))).order(ByteOrder.LITTLE_ENDIAN);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** @return a little-endian float32 file */
    float[] f32(String file) {
        ByteBuffer b = raw(file);
        float[] v = new float[b.remaining() / 4];
        b.asFloatBuffer().get(v);
        return v;
    }

    /** @return a little-endian fp16 file, widened to float */
    float[] f16(String file) {
        ByteBuffer b = raw(file);
        float[] v = new float[b.remaining() / 2];
        for (int i = 0; i < v.length; i++) {
            v[i] = Float.float16ToFloat(b.getShort());
        }
        return v;
    }

    /** @return a uint8 file */
    int[] u8(String file) {
        ByteBuffer b = raw(file);
        int[] v = new int[b.remaining()];
        for (int i = 0; i < v.length; i++) {
            v[i] = b.get() & 0xff;
        }
        return v;
    }

    /** @return a grid holding {@code values} as (C, shape) */
    static Grid grid(float[] values, int channels, int[] shape, Grid.Storage storage) {
        Grid g = Grid.allocate(channels, shape, storage, "fixture");
        long n = g.voxels();
        for (int c = 0; c < channels; c++) {
            for (long i = 0; i < n; i++) {
                g.set(c, i, values[(int) (c * n + i)]);
            }
        }
        return g;
    }

    /** The case's network, built from the same seeded parameters as the Python one. */
    SimpleNetwork network() {
        return new SimpleNetwork(f32("net_w.f32"), f32("net_b.f32"), f32("net_p.f32"), settings.channels().size(),
            settings.numHeads(), settings.patchSize());
    }

    @Override
    public String toString() {
        return name;
    }
}
