package org.renalmtl.weights;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * On-demand random byte mutation of a valid weight file, each mutant loaded in a child JVM
 * ({@link ChildJvm}). Unlike the Jazzer fuzz tests this reaches libhdf5's own parser, where a crafted
 * file can crash native code (which would kill an in-process fuzzer): a child that dies or hangs is
 * recorded with its input, and so is any load ending in something other than a
 * {@link WeightFormatException} (our bug). Not coverage guided; no part of {@code mvn verify}
 * (README.md, "Fuzzing", says how to run it).
 *
 * <p>Arguments: output directory, seconds to run, random seed. The class path must be absolute (the
 * child JVM runs in the work directory). Inputs that crashed or hung the child
 * are copied to {@code <out>/crashes/}, those ending in another exception to {@code <out>/other/}.
 */
final class RawHdf5Mutator {
    private static final int BATCH = 100;
    private static final int[] INTERESTING = {0, 1, 0x7f, 0x80, 0xff, 0xfe, 0x10, 0x40};

    private RawHdf5Mutator() {}

    /** @param args output directory, seconds, seed */
    public static void main(String[] args) throws IOException {
        Path out = Path.of(args[0]);
        long until = System.nanoTime() + Long.parseLong(args[1]) * 1_000_000_000L;
        Random rnd = new Random(Long.parseLong(args[2]));
        Path work = Files.createDirectories(out.resolve("work"));
        Files.createDirectories(out.resolve("crashes"));
        Files.createDirectories(out.resolve("other"));
        Path valid = out.resolve("valid.h5");
        TinyModel.writeValid(valid, 9);
        byte[] good = Files.readAllBytes(valid);
        long loaded = 0;
        long refused = 0;
        long crashed = 0;
        long other = 0;
        for (int round = 0; System.nanoTime() < until; round++) {
            List<Path> batch = new ArrayList<>();
            for (int i = 0; i < BATCH; i++) {
                Path f = work.resolve("m" + round + "-" + i + ".h5");
                Files.write(f, mutate(good, rnd));
                batch.add(f);
            }
            List<Path> remaining = batch;
            while (!remaining.isEmpty()) {
                ChildJvm child = ChildJvm.load(work, remaining, 120);
                for (String line : child.results().values()) {
                    if (line.startsWith("LOADED ")) {
                        loaded++;
                    } else if (line.startsWith("ERROR ")) {
                        refused++;
                    }
                }
                for (var e : child.results().entrySet()) {
                    if (e.getValue().startsWith("OTHER ")) {
                        other++;
                        Path f = Path.of(e.getKey());
                        Files.copy(f, out.resolve("other").resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING);
                        System.out.println("OTHER " + f.getFileName() + ": " + e.getValue());
                    }
                }
                for (Path log : child.crashLogs()) {
                    Files.move(log, out.resolve("crashes").resolve(log.getFileName()), StandardCopyOption.REPLACE_EXISTING);
                }
                String culprit = child.lastBegun();
                if (culprit == null && child.exitCode() != 0) { // it never loaded anything: a broken set-up
                    throw new IllegalStateException("child JVM failed to start:\n" + child.output());
                }
                if ((child.exitCode() == 0 || child.exitCode() == 3) || culprit == null
                        || child.results().containsKey(culprit)) {
                    break;
                }
                crashed++;
                Path f = Path.of(culprit);
                Files.copy(f, out.resolve("crashes").resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING);
                System.out.println("CRASH/HANG " + f.getFileName() + " exit " + child.exitCode());
                remaining = remaining.subList(remaining.indexOf(f) + 1, remaining.size());
            }
            try (var left = Files.list(work)) { // the mutants and ChildJvm's output files
                for (Path f : left.toList()) {
                    Files.delete(f);
                }
            }
            System.out.printf("round %d: loaded %d, refused %d, crashed or hung %d, other %d%n", round, loaded, refused,
                    crashed, other);
        }
    }

    /** 1–8 edits: bit flips, interesting bytes, 4- or 8-byte little-endian values, block copies, a cut. */
    static byte[] mutate(byte[] good, Random rnd) {
        byte[] b = good.clone();
        int edits = 1 + rnd.nextInt(8);
        for (int e = 0; e < edits; e++) {
            int at = rnd.nextInt(b.length);
            switch (rnd.nextInt(5)) {
                case 0 -> b[at] ^= (byte) (1 << rnd.nextInt(8));
                case 1 -> b[at] = (byte) INTERESTING[rnd.nextInt(INTERESTING.length)];
                case 2 -> {
                    long v = switch (rnd.nextInt(4)) {
                        case 0 -> -1L;
                        case 1 -> rnd.nextInt(b.length * 2);
                        case 2 -> 1L << rnd.nextInt(63);
                        default -> rnd.nextLong();
                    };
                    int width = rnd.nextBoolean() ? 4 : 8;
                    for (int k = 0; k < width && at + k < b.length; k++) {
                        b[at + k] = (byte) (v >>> (8 * k));
                    }
                }
                case 3 -> {
                    int from = rnd.nextInt(b.length);
                    int len = Math.min(1 + rnd.nextInt(64), Math.min(b.length - from, b.length - at));
                    System.arraycopy(good, from, b, at, len);
                }
                default -> {
                    if (rnd.nextInt(8) == 0) {
                        return java.util.Arrays.copyOf(b, Math.max(96, at));
                    }
                }
            }
        }
        return b;
    }
}
