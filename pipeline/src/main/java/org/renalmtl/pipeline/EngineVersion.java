package org.renalmtl.pipeline;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;

/** The version of renal-mtl, as its POM states it; every report and results file carries it. */
public final class EngineVersion {
    /** The version, e.g. {@code 0.1.0}, read once from the filtered {@code version.properties}. */
    public static final String VERSION = read();

    private EngineVersion() {
    }

    private static String read() {
        try (InputStream in = EngineVersion.class.getResourceAsStream("version.properties")) {
            if (in == null) {
                throw new IllegalStateException("version.properties missing from the pipeline jar");
            }
            Properties p = new Properties();
            p.load(in);
            return p.getProperty("version");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
