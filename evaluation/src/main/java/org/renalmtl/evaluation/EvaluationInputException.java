package org.renalmtl.evaluation;

/**
 * Bad input to the evaluation toolkit: a missing column, an unusable label column, a non-numeric or
 * NaN score, too few cases of a class, a reader without ratings. The message is one line that names
 * the file, column or row and the problem; the {@code renal-mtl} CLI prints it as
 * {@code renal-mtl: error: <message>} and exits with code 2. Nothing has been written when it is thrown.
 */
public final class EvaluationInputException extends RuntimeException {

    /**
     * @param message one line naming the file/column/row and what is wrong with it
     */
    public EvaluationInputException(String message) {
        super(message);
    }
}
