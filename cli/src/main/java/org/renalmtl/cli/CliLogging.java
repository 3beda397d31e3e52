package org.renalmtl.cli;

import java.util.logging.ConsoleHandler;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * The CLI's logging backend. The library modules log through SLF4J only; the CLI binds SLF4J to
 * java.util.logging (slf4j-jdk14) and prints each record as one short line, {@code renal-mtl: MESSAGE},
 * on stderr — the same lines users saw when the libraries printed them.
 */
final class CliLogging {
    /**
     * Held so that the levels set here stay: java.util.logging keeps loggers only weakly, and a collected
     * logger would come back at the default level.
     */
    private static final Logger ROOT = Logger.getLogger("");
    private static final Logger BYTEDECO = Logger.getLogger("org.bytedeco");

    private CliLogging() {
    }

    /** Replaces the root handlers by one that writes short lines to stderr. */
    static void install() {
        for (Handler h : ROOT.getHandlers()) {
            ROOT.removeHandler(h);
        }
        Handler h = new ConsoleHandler(); // stderr
        h.setFormatter(new Formatter() {
            @Override
            public String format(LogRecord r) {
                return "renal-mtl: " + formatMessage(r) + System.lineSeparator();
            }
        });
        h.setLevel(Level.INFO);
        ROOT.addHandler(h);
        // JavaCPP warns that the HDF5 presets (1.5.10, their last release) and the JavaCPP runtime (1.5.13)
        // differ; they are compatible (the weights tests read and write every kind of file through them).
        BYTEDECO.setLevel(Level.SEVERE);
    }
}
