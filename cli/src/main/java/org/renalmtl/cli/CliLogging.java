package org.renalmtl.cli;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
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
 * on stderr. The lines are held until the command prints its first result, or ends, and are dropped if
 * it failed before printing anything, so that a failed command's stderr is its one error line (a device
 * fallback said before the error is noise).
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
     * Shows the held lines on stderr (and from then on every line as it comes), or drops them.
     *
     * @param show false when the command failed before printing any result
     */
    static void release(boolean show) {
        for (String line : HELD.take(show)) {
            System.err.println(line);
        }
    }

    /**
     * Wraps stdout so that held lines are shown before the command's first output: once a command is
     * producing results, what the libraries said (the device it fell back to) belongs before them.
     *
     * @param out the real stdout
     * @return the stream to use as {@code System.out}
     */
    static PrintStream releasingOnFirstWrite(PrintStream out) {
        return new PrintStream(new FilterOutputStream(out) {
            private boolean released;

            @Override
            public void write(int b) throws IOException {
                release();
                out.write(b);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                release();
                out.write(b, off, len);
            }

            private void release() throws IOException {
                if (!released) {
                    released = true;
                    CliLogging.release(true);
                }
            }
        }, true, StandardCharsets.UTF_8);
    }

    /** Collects formatted records; thread-safe, as loggers may be called from any thread. */
    private static final class Held extends Handler {
        private final List<String> lines = new ArrayList<>();
        private boolean passThrough;
        private final Formatter format = new Formatter() {
            @Override
            public String format(LogRecord r) {
                return "renal-mtl: " + formatMessage(r);
            }
        };

        @Override
        public synchronized void publish(LogRecord r) {
            if (isLoggable(r)) {
                String line = format.format(r);
                if (passThrough) {
                    System.err.println(line);
                } else {
                    lines.add(line);
                }
            }
        }

        /** @return the held lines to print (none if {@code show} is false); later lines pass straight through */
        synchronized List<String> take(boolean show) {
            List<String> out = show ? List.copyOf(lines) : List.of();
            lines.clear();
            passThrough = show;
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
