package org.renalmtl.weights;

import java.nio.file.Path;

/**
 * Loads weight files in a JVM of its own, for tests whose input could crash native code: the parent
 * sees a crash or a hang as an exit code or a timeout instead of losing its own JVM. For each file it
 * prints {@code BEGIN <file>}, then {@code ERROR <message>} for a {@link WeightFormatException},
 * {@code LOADED <tensors>} for a file that loads, or {@code OTHER <exception>} for anything else;
 * the BEGIN line names the culprit if the JVM dies. Exits 0, or 3 if any file gave OTHER.
 */
final class LoadInChildJvm {
    private LoadInChildJvm() {}

    /** @param args the weight files */
    public static void main(String[] args) {
        int status = 0;
        for (String file : args) {
            System.out.println("BEGIN " + file);
            System.out.flush();
            try (WeightFile wf = WeightFile.load(Path.of(file))) {
                System.out.println("LOADED " + wf.tensors().size());
            } catch (WeightFormatException e) {
                System.out.println("ERROR " + e.getMessage());
            } catch (RuntimeException | Error e) {
                System.out.println("OTHER " + e);
                status = 3;
            }
            System.out.flush();
        }
        System.exit(status);
    }
}
