package org.renalmtl.cli;

import java.io.PrintWriter;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.util.List;
import java.nio.file.NotDirectoryException;
import org.renalmtl.engine.ModelRunException;
import org.renalmtl.evaluation.EvaluationInputException;
import org.renalmtl.loader.VolumeInputException;
import org.renalmtl.pipeline.EngineVersion;
import org.renalmtl.weights.WeightFormatException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The {@code renal-mtl} command line. Exit codes: 0 success, 3 a run over many cases (a cohort, a segment folder)
 * finished but some case failed (each says why), 2 bad input or usage (one line on stderr naming the file and the
 * problem), 1 an internal error (stack trace with {@code --debug}).
 */
@Command(
        name = "renal-mtl",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = "Multi-task kidney-cancer CT model (Lv et al., Eur Radiol 2026): inference and evaluation.",
        exitCodeListHeading = "Exit codes:%n",
        exitCodeList = {"0:success", "3:a cohort or folder ran, but some case failed (each says why)",
            "2:bad input or usage (one line naming the file and the problem)", "1:internal error (a bug)"},
        subcommands = {
            DemoCommand.class,
            BenchCommand.class,
            InspectCommand.class,
            PredictCommand.class,
            SegmentCommand.class,
            PhantomCommand.class,
            EvaluateCommand.class,
            MrmcCommand.class,
            CommandLine.HelpCommand.class
        })
public final class Main implements Runnable {
    @Option(names = "--debug", scope = CommandLine.ScopeType.INHERIT, description = "Print stack traces on errors.")
    boolean debug;

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    /** Supplies {@code --version}. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"renal-mtl " + EngineVersion.VERSION};
        }
    }

    /** @return the configured command line (also used by tests) */
    public static CommandLine commandLine() {
        Main main = new Main();
        CommandLine cl = new CommandLine(main);
        // --device is accepted by every command; those that run no model say they use the CPU.
        for (String name : List.of("phantom", "evaluate", "mrmc")) {
            cl.getSubcommands().get(name).getCommandSpec().addOption(CommandLine.Model.OptionSpec.builder("--device")
                    .paramLabel("DEVICE").type(String.class)
                    .description("Accepted for uniformity; this command runs no model and uses the CPU.").build());
        }
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> handle(ex, cmd.getErr(), main.debug));
        return cl;
    }

    /** Most list lines an error message may add below its first (ten choices and "... and N more"). */
    private static final int LISTED_LINES = 11;

    /** Maps an exception to the one-line message (plus any list it gives) and exit code users see. */
    static int handle(Exception ex, PrintWriter err, boolean debug) {
        boolean input = isInputError(ex);
        String msg = ex.getMessage() == null ? ex.getClass().getSimpleName() : ex.getMessage();
        if (ex instanceof NoSuchFileException nsf) {
            msg = nsf.getFile() + ": no such file";
        } else if (ex instanceof FileSystemException fse && fse.getFile() != null) {
            // Their message is often the bare path (FileAlreadyExistsException, AccessDeniedException): add the reason.
            String reason = fse.getReason() != null ? fse.getReason() : switch (fse) {
                case FileAlreadyExistsException _ -> "already exists";
                case AccessDeniedException _ -> "permission denied";
                case NotDirectoryException _ -> "not a directory";
                case DirectoryNotEmptyException _ -> "directory not empty";
                default -> fse.getClass().getSimpleName();
            };
            msg = fse.getFile() + ": " + reason;
        }
        // One line; an input error that lists what to choose from (a DICOM folder's series) adds the list, one
        // indented line per item. Other lines of a message (a library's detail) are not shown.
        List<String> lines = msg.lines().toList();
        err.println("renal-mtl: " + (input ? "error: " : "internal error: ") + (lines.isEmpty() ? "" : lines.getFirst()));
        if (input) {
            lines.stream().skip(1).takeWhile(l -> l.startsWith("  ")).limit(LISTED_LINES).forEach(err::println);
        }
        if (debug) {
            ex.printStackTrace(err);
        } else if (!input) {
            err.println("renal-mtl: run again with --debug for the stack trace");
        }
        err.flush();
        return input ? 2 : 1;
    }

    private static boolean isInputError(Throwable ex) {
        return ex instanceof WeightFormatException
                || ex instanceof ModelRunException
                || ex instanceof VolumeInputException
                || ex instanceof EvaluationInputException
                || ex instanceof InputException
                || ex instanceof UnsupportedOperationException
                || ex instanceof java.io.IOException
                || ex instanceof java.io.UncheckedIOException;
    }

    /**
     * Entry point.
     *
     * @param args command line
     */
    public static void main(String[] args) {
        CliLogging.install();
        System.setOut(CliLogging.releasingOnFirstWrite(System.out));
        int code = commandLine().execute(args);
        CliLogging.release(code == 0);
        System.exit(code);
    }
}
