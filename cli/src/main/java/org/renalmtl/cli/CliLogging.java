package org.renalmtl.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * The CLI's logging backend. The library modules log through SLF4J only; the CLI binds SLF4J to
 * java.util.logging (slf4j-jdk14) and shows each record as one short line, {@code renal-mtl: MESSAGE},
 * on stderr. The lines are held until the command ends and shown only if it succeeded, so that a
 * failed command's stderr is its one error line (a device fallback said before the error is noise).
 */
final class CliLogging {
    /**
     * Held so that the levels set here stay: java.util.logging keeps loggers only weakly, and a collected
     * logger would come back at the default level.
     */
    private static final Logger ROOT = Logger.getLogger("");
    private static final Logger BYTEDECO = Logger.getLogger("org.bytedeco");
    private static final Held HELD = new Held();

    private CliLogging() {
    }

    /** Replaces the root handlers by one that holds short lines until {@link #release}. */
    static void install() {
        for (Handler h : ROOT.getHandlers()) {
            ROOT.removeHandler(h);
        }
        HELD.setLevel(Level.INFO);
        ROOT.addHandler(HELD);
        // JavaCPP warns that the HDF5 presets (1.5.10, their last release) and the JavaCPP runtime (1.5.13)
        // differ; they are compatible (the weights tests read and write every kind of file through them).
        BYTEDECO.setLevel(Level.SEVERE);
    }

    /**
     * Ends a command: prints the held lines to stderr if it succeeded, else drops them.
     *
     * @param show whether the command succeeded
     */
    static void release(boolean show) {
        for (String line : HELD.take()) {
            if (show) {
                System.err.println(line);
            }
        }
    }

    /** Collects formatted records; thread-safe, as loggers may be called from any thread. */
    private static final class Held extends Handler {
        private final List<String> lines = new ArrayList<>();
        private final Formatter format = new Formatter() {
            @Override
            public String format(LogRecord r) {
                return "renal-mtl: " + formatMessage(r);
            }
        };

        @Override
        public synchronized void publish(LogRecord r) {
            if (isLoggable(r)) {
                lines.add(format.format(r));
            }
        }

        synchronized List<String> take() {
            List<String> out = List.copyOf(lines);
            lines.clear();
            return out;
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    }
}
