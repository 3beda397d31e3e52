package org.renalmtl.evaluation.mrmc;

import java.util.List;

/**
 * A fully crossed reader study: every reader rated every case under every test (modality).
 *
 * @param tests   test (modality) labels, (T)
 * @param readers reader labels, (R)
 * @param cases   case labels, (C)
 * @param truth   (C) true for a diseased (positive) case
 * @param ratings (T, R, C) rating of case c by reader r under test t; higher = more likely positive
 */
public record ReaderStudy(List<String> tests, List<String> readers, List<String> cases, boolean[] truth,
                          double[][][] ratings) {

    /** Checks the shapes. */
    public ReaderStudy {
        tests = List.copyOf(tests);
        readers = List.copyOf(readers);
        cases = List.copyOf(cases);
        if (truth.length != cases.size() || ratings.length != tests.size()) {
            throw new IllegalArgumentException("inconsistent reader study shapes");
        }
        for (double[][] perTest : ratings) {
            if (perTest.length != readers.size()) {
                throw new IllegalArgumentException("inconsistent reader study shapes");
            }
            for (double[] perReader : perTest) {
                if (perReader.length != cases.size()) {
                    throw new IllegalArgumentException("inconsistent reader study shapes");
                }
            }
        }
    }

    /** Number of tests T. */
    public int testCount() {
        return tests.size();
    }

    /** Number of readers R. */
    public int readerCount() {
        return readers.size();
    }

    /** Number of cases C. */
    public int caseCount() {
        return cases.size();
    }
}
