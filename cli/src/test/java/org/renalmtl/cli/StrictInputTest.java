package org.renalmtl.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.renalmtl.cli.EvaluateCommandTest.assertError;
import static org.renalmtl.cli.EvaluateCommandTest.run;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Regression tests of issue 9 item 6: input that used to be accepted silently (or ended in an
 * OutOfMemoryError) is refused with one line naming the file and the problem, exit code 2, and no output.
 */
class StrictInputTest {

    @TempDir
    Path tmp;

    private Path write(String name, String content) throws IOException {
        Path p = tmp.resolve(name);
        Files.writeString(p, content);
        return p;
    }

    private String[] evaluate(Path input, String... extra) {
        List<String> a = new ArrayList<>(List.of("--input", input.toString(), "--label", "y", "--positive", "1",
            "--score", "s", "--out", tmp.resolve("never").toString()));
        a.addAll(List.of(extra));
        return a.toArray(String[]::new);
    }

    private void assertEvaluateError(Path input, String expected, String... extra) {
        assertError(run(new EvaluateCommand(), evaluate(input, extra)), expected, tmp.resolve("never"));
    }

    @Test
    void duplicateHeaderIsAnErrorNamingIt() throws IOException {
        // Used to read the first 's' (a constant column: AUC 0.5) instead of refusing the ambiguity.
        Path in = write("dup.csv", "id,s,y,s\n1,0,1,0.9\n2,0,0,0.1\n3,0,1,0.7\n4,0,0,0.3\n");
        assertEvaluateError(in, in + ": duplicate column name 's' (columns 2 and 4)");
    }

    @Test
    void duplicateCaseIdsInResultsOrLabelsAreErrors() throws IOException {
        Path labels = write("labels.csv", "case_id,y\na,1\nb,0\nc,1\nd,0\n");
        Path results = write("results.csv", "case_id,s\na,0.9\nb,0.1\nc,0.7\nd,0.3\na,0.8\n");
        // Case 'a' would have counted twice.
        assertEvaluateError(results, results + ": line 6: duplicate case_id 'a' (first on line 2)",
            "--labels", labels.toString());
        Path labels2 = write("labels2.csv", "case_id,y\na,1\nb,0\nc,1\nd,0\nc,0\n");
        Path results2 = write("results2.csv", "case_id,s\na,0.9\nb,0.1\nc,0.7\nd,0.3\n");
        assertEvaluateError(results2, labels2 + ": line 6: duplicate case_id 'c' (first on line 4)",
            "--labels", labels2.toString());
    }

    @Test
    void numbersMustBePlainDecimals() throws IOException {
        // Double.parseDouble takes all three; R's read.csv takes none of them as a number.
        for (String bad : List.of("0x1p-3", "0.13f", "1d")) {
            Path in = write("n.csv", "y,s\n1,0.9\n0,0.1\n1," + bad + "\n0,0.3\n");
            assertEvaluateError(in, in + ": line 4, column 's': not a number: '" + bad + "' (plain decimal expected");
        }
        Path ok = write("ok.csv", "y,s\n1,+.9\n0,1e-05\n1,7.\n0,-3E2\n");
        var accepted = run(new EvaluateCommand(), "--input", ok.toString(), "--label", "y", "--positive", "1",
            "--score", "s", "--out", tmp.resolve("ok").toString(), "--bootstrap", "100");
        assertEquals(0, accepted.code(), "R's and spreadsheets' spellings stay numbers: " + accepted.err());
        Path huge = write("huge.csv", "y,s\n1,0.9\n0,1e999\n1,0.7\n0,0.3\n");
        assertEvaluateError(huge, "line 3, column 's': infinite value");
    }

    @Test
    void optionsAreValidatedBeforeAnythingIsRead() throws IOException {
        Path in = write("in.csv", "y,s\n1,0.9\n0,0.1\n1,0.7\n0,0.3\n");
        // --bootstrap 2000000000 used to end in an OutOfMemoryError with a stack trace.
        assertEvaluateError(in, "--bootstrap must be between 100 and 100000, got 2000000000", "--bootstrap", "2000000000");
        assertEvaluateError(in, "--threshold must be a number in [0, 1], got 1.5", "--threshold", "1.5");
        assertEvaluateError(in, "--threshold must be a number in [0, 1], got NaN", "--threshold", "NaN");
        assertEvaluateError(in, "--threshold must be a number in [0, 1], got -Infinity", "--threshold", "-Infinity");
        assertEvaluateError(in, "--bins must be between 1 and 100, got 1000", "--bins", "1000");
        assertEvaluateError(in, "--harm s must be finite, got Infinity", "--harm", "s=Infinity");
    }

    @Test
    void readerStudyThatCannotBeCrossedIsRefusedBeforeAllocating() throws IOException {
        // Every row a new reader and case: T × R × C would be 3000² cells for 3000 rows.
        StringBuilder b = new StringBuilder("reader,test,case,truth,rating\n");
        for (int i = 0; i < 3000; i++) {
            b.append("r").append(i).append(",1,c").append(i).append(',').append(i % 2).append(",0.5\n");
        }
        Path in = write("sparse.csv", b.toString());
        Path out = tmp.resolve("never");
        assertError(run(new MrmcCommand(), "--input", in.toString(), "--reader", "reader", "--test", "test", "--case",
                "case", "--truth", "truth", "--rating", "rating", "--out", out.toString()),
            in + ": not a fully crossed design: 1 test(s) × 3000 readers × 3000 cases need 9000000 ratings, "
                + "but the file has 3000 rows", out);
        Path dup = write("dup.csv", "reader,test,case,truth,rating,rating\n1,1,1,1,0.5,0.5\n");
        assertError(run(new MrmcCommand(), "--input", dup.toString(), "--reader", "reader", "--test", "test", "--case",
            "case", "--truth", "truth", "--rating", "rating", "--out", out.toString()),
            "duplicate column name 'rating'", out);
    }
}
