/**
 * {@code renal-mtl bench}: the multi- versus single-task cost study. {@link org.renalmtl.cli.bench.BenchRun}
 * measures each model set in a fresh JVM ({@link org.renalmtl.cli.bench.BenchWorker}) at every point of the
 * scaling axes, after the machine's peak; {@link org.renalmtl.cli.bench.BenchPlots} draws the scaling
 * curves. The command class in {@code org.renalmtl.cli} only reads the options.
 */
package org.renalmtl.cli.bench;
