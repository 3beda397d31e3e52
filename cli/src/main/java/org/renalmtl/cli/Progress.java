package org.renalmtl.cli;

import java.util.Locale;

/**
 * Progress of a run over cases on stderr: a bar with ETA on a terminal; one line per case otherwise
 * (logs, CI), {@code [i/N] CASE ok (S s)} or {@code FAILED}. Shared by the cohort runner and {@code segment}'s
 * folder mode.
 */
final class Progress {
    private final int total;
    private final boolean tty;
    private final long start = System.nanoTime();
    private long caseStart;
    private int finished;
    private int failures;
    private int drawn; // characters of the bar line last drawn, so a report can blank it
    private String current = "";

    /**
     * @param total cases to run
     * @param tty   whether stderr is a terminal (a redrawn bar) or not (a line per case)
     */
    Progress(int total, boolean tty) {
        this.total = total;
        this.tty = tty;
    }

    /** @return a progress for {@code total} cases, drawn as a bar when the JVM has a console */
    static Progress forCases(int total) {
        return new Progress(total, System.console() != null);
    }

    void start(String id) {
        current = id;
        caseStart = System.nanoTime();
        if (tty) {
            draw();
        }
    }

    /** @return seconds since {@link #start} of the current case */
    double caseSeconds() {
        return (System.nanoTime() - caseStart) / 1e9;
    }

    void done(boolean ok) {
        done(current, ok, caseSeconds());
    }

    /**
     * A case ended that was not timed by {@link #start} (cases prepared ahead of the one running).
     *
     * @param seconds the case's own time, for the line per case
     */
    void done(String id, boolean ok, double seconds) {
        current = id;
        finished++;
        if (!ok) {
            failures++;
        }
        if (tty) {
            draw();
        } else {
            System.err.printf(Locale.ROOT, "[%d/%d] %s %s (%.1f s)%n", finished, total, current, ok ? "ok" : "FAILED",
                    seconds);
        }
    }

    /** Prints a line of its own (a case's error) without garbling the bar. */
    void report(String line) {
        if (tty) {
            System.err.print("\r" + line + " ".repeat(Math.max(0, drawn - line.length())) + "\n");
            draw();
        } else {
            System.err.println(line);
        }
    }

    private void draw() {
        int width = 30;
        int filled = total == 0 ? width : finished * width / total;
        double elapsed = (System.nanoTime() - start) / 1e9;
        String eta = finished == 0 ? "--:--" : clock(elapsed / finished * (total - finished));
        String bar = String.format(Locale.ROOT, "[%s%s] %d/%d %-16s failed %d  ETA %s ", "#".repeat(filled),
                ".".repeat(width - filled), finished, total, current, failures, eta);
        drawn = bar.length();
        System.err.print("\r" + bar);
        System.err.flush();
    }

    void finish() {
        if (tty) {
            System.err.println();
        }
    }

    private static String clock(double s) {
        long t = Math.round(s);
        return String.format(Locale.ROOT, "%d:%02d", t / 60, t % 60);
    }
}
