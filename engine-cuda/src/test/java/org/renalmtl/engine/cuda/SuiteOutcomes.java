package org.renalmtl.engine.cuda;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectPackage;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TagFilter;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;

/**
 * Runs this package's tests, less the {@value RequireGpu#CPU_ONLY} ones (as benchmarks/gpu/run.sh
 * does), through the JUnit launcher in a JVM of its own, and prints one line per test and per
 * container that did not succeed: {@code OUTCOME<TAB>STATUS<TAB>unique id<TAB>first line of the
 * reason}, STATUS being SUCCESSFUL, ABORTED, FAILED or SKIPPED (the prefix tells these lines from
 * the tests' own output). {@link RequireGpuTest} starts it with and without
 * {@value RequireGpu#VARIABLE}, since a variable cannot be set inside a running JVM.
 */
final class SuiteOutcomes {
    /** Starts every outcome line. */
    static final String PREFIX = "OUTCOME\t";

    private SuiteOutcomes() {}

    /**
     * Runs the suite and prints its outcomes on standard output.
     *
     * @param args unused
     */
    public static void main(String[] args) {
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        LauncherDiscoveryRequest request = LauncherDiscoveryRequestBuilder.request()
                .selectors(selectPackage(SuiteOutcomes.class.getPackageName()))
                .filters(TagFilter.excludeTags(RequireGpu.CPU_ONLY))
                .build();
        LauncherFactory.create().execute(request, new TestExecutionListener() {
            @Override
            public void executionFinished(TestIdentifier id, TestExecutionResult result) {
                if (id.isTest() || result.getStatus() != TestExecutionResult.Status.SUCCESSFUL) {
                    String reason = result.getThrowable().map(t -> String.valueOf(t.getMessage())).orElse("");
                    print(out, result.getStatus().name(), id, reason);
                }
            }

            @Override
            public void executionSkipped(TestIdentifier id, String reason) {
                print(out, "SKIPPED", id, reason);
            }
        });
    }

    private static void print(PrintStream out, String status, TestIdentifier id, String reason) {
        String firstLine = reason.lines().findFirst().orElse("");
        out.println(PREFIX + status + "\t" + id.getUniqueId() + "\t" + firstLine.replace('\t', ' '));
    }
}
