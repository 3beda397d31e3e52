package org.renalmtl.weights;

import java.nio.file.Path;

/**
 * Loads one weight file in a JVM of its own, for tests whose input could crash native code: the
 * parent sees a crash as an exit code instead of losing its own JVM. Prints the error message and
 * exits 0 for a {@link WeightFormatException}, 0 for a file that loads, 3 for any other exception.
 */
final class LoadInChildJvm {
    private LoadInChildJvm() {}

    /** @param args the weight file */
    public static void main(String[] args) {
        try (WeightFile wf = WeightFile.load(Path.of(args[0]))) {
            System.out.println("LOADED " + wf.tensors().size());
        } catch (WeightFormatException e) {
            System.out.println("ERROR " + e.getMessage());
        } catch (RuntimeException e) {
            System.out.println("OTHER " + e);
            System.exit(3);
        }
    }
}
