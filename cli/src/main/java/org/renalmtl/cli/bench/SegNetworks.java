package org.renalmtl.cli.bench;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

/**
 * The segmentation networks {@code bench --config seg-…} measures: {@code seg-phantom}, the built-in phantom
 * nnU-Net the demo segments with (the cli resource {@code phantom-seg.h5}), and {@code seg-nnunet-default},
 * nnU-Net's default 3d_fullres 6-stage PlainConvUNet (32…320 features, 128³ patch, 4 classes) with seeded
 * weights ({@link org.renalmtl.engine.BuiltinUNets}).
 */
final class SegNetworks {
    /** The segmentation configs {@code bench} accepts. */
    static final List<String> CONFIGS = List.of("seg-phantom", "seg-nnunet-default");
    /** The phantom model's file name among the cli's resources. */
    static final String PHANTOM_RESOURCE = "phantom-seg.h5";

    private SegNetworks() {}

    /** @return whether {@code config} names a segmentation network */
    static boolean isSeg(String config) {
        return CONFIGS.contains(config);
    }

    /** Copies the phantom model out of the class path (the engine reads weight files by path). */
    static void copyPhantom(Path to) {
        try (InputStream in = SegNetworks.class.getResourceAsStream("/org/renalmtl/cli/" + PHANTOM_RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("the built-in phantom segmentation model is missing from the class path");
            }
            Files.copy(in, to, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
