package org.renalmtl.evaluation.cli;

import java.io.PrintWriter;

import org.renalmtl.evaluation.EvaluationInputException;

import picocli.CommandLine;

/**
 * Wraps one of this module's commands in a picocli {@link CommandLine} with the project's error
 * convention: an {@link EvaluationInputException} prints {@code renal-mtl: error: <message>} on
 * stderr and exits with code 2; usage errors exit with picocli's code 2 as well. The top-level
 * {@code renal-mtl} command does the same for its subcommands; this exists for stand-alone use and tests.
 */
public final class EvaluationCli {

    /** Exit code for bad input. */
    public static final int BAD_INPUT = 2;

    private EvaluationCli() {
    }

    /** A command line for {@code command} with the error mapping installed. */
    public static CommandLine commandLine(Object command) {
        CommandLine cl = new CommandLine(command);
        cl.setExecutionExceptionHandler((ex, line, parsed) -> {
            if (ex instanceof EvaluationInputException) {
                PrintWriter err = line.getErr();
                err.println("renal-mtl: error: " + ex.getMessage());
                err.flush();
                return BAD_INPUT;
            }
            throw ex;
        });
        return cl;
    }
}
