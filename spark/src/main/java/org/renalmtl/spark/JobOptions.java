package org.renalmtl.spark;

import java.util.List;

/**
 * The job's command line: {@code --cases FILE --model M.h5 [--seg-model S.h5] --out results.parquet [--csv
 * results.csv] [--device D] [--reorient none|ras] [--label N] [--partitions N] [--retry-failed]}. Paths may be local
 * or on any Hadoop-compatible file system.
 *
 * @param cases      the case manifest (CSV or Parquet)
 * @param model      the weight file
 * @param segModel   the segmentation model that finds each case's tumour, or null when the manifest gives masks
 * @param out        the results Parquet folder
 * @param csv        the results CSV, or null
 * @param device     the executors' device: {@code auto}, {@code cpu}, {@code cuda[:N]}
 * @param reorient   {@code none} or {@code ras}
 * @param label      the mask label that is the tumour, or null for the largest component
 * @param partitions how many partitions the cases are split into, 0 for four per default-parallelism slot
 * @param retryFailed whether cases with an error row in {@code --out} run again (their new rows replace them)
 */
record JobOptions(String cases, String model, String segModel, String out, String csv, String device, String reorient,
                  Integer label, int partitions, boolean retryFailed) {
    static final String USAGE = "usage: spark-submit --class org.renalmtl.spark.CohortJob renal-mtl-spark.jar"
            + " --cases CASES.csv|.parquet --model M.h5 [--seg-model S.h5] --out RESULTS.parquet [--csv RESULTS.csv]"
            + " [--device auto|cpu|cuda[:N]] [--reorient none|ras] [--label N] [--partitions N] [--retry-failed]";

    /**
     * @param args the job's arguments
     * @return the options
     * @throws JobInputException naming what is wrong, with the usage
     */
    static JobOptions parse(String[] args) {
        String cases = null;
        String model = null;
        String segModel = null;
        boolean retryFailed = false;
        String out = null;
        String csv = null;
        String device = "auto";
        String reorient = "none";
        Integer label = null;
        int partitions = 0;
        for (int i = 0; i < args.length; i++) {
            String name = args[i];
            if (name.equals("--retry-failed")) {
                retryFailed = true;
                continue;
            }
            if (i + 1 >= args.length) {
                throw new JobInputException(name + ": needs a value; " + USAGE);
            }
            String v = args[++i];
            switch (name) {
                case "--cases" -> cases = v;
                case "--model" -> model = v;
                case "--out" -> out = v;
                case "--csv" -> csv = v;
                case "--device" -> device = v;
                case "--reorient" -> reorient = v;
                case "--label" -> label = number(name, v);
                case "--partitions" -> partitions = number(name, v);
                case "--seg-model" -> segModel = v;
                default -> throw new JobInputException(name + ": unknown option; " + USAGE);
            }
        }
        for (var required : List.of(new String[] {"--cases", cases}, new String[] {"--model", model},
                new String[] {"--out", out})) {
            if (required[1] == null) {
                throw new JobInputException(required[0] + " is required; " + USAGE);
            }
        }
        if (!reorient.equals("none") && !reorient.equals("ras")) {
            throw new JobInputException("--reorient " + reorient + ": must be none or ras");
        }
        if (partitions < 0 || label != null && label < 1) {
            throw new JobInputException("--label and --partitions take a positive number");
        }
        if (segModel != null && label != null) {
            throw new JobInputException("--seg-model finds the tumour itself: it takes no --label");
        }
        return new JobOptions(cases, model, segModel, out, csv, device, reorient, label, partitions, retryFailed);
    }

    private static int number(String name, String v) {
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new JobInputException(name + " " + v + ": not a whole number");
        }
    }
}
