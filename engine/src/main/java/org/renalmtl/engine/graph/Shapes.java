package org.renalmtl.engine.graph;

import java.util.Arrays;

/** The checks shared by the ops' shape rules; each failure names the op and what does not fit. */
final class Shapes {
    private Shapes() {}

    static void arity(Op op, long[][] in, int n) {
        if (in.length != n) {
            throw new IllegalArgumentException(op + " takes " + n + " input(s), got " + in.length);
        }
    }

    static long[] rank(Op op, long[] shape, int rank) {
        if (shape.length != rank) {
            throw new IllegalArgumentException(op + " expects a rank-" + rank + " input, got " + Arrays.toString(shape));
        }
        return shape;
    }

    static long[] constant(Op.ConstantShapes c, String name, int rank) {
        long[] s = c.apply(name);
        if (s.length != rank) {
            throw new IllegalArgumentException("constant " + name + " has shape " + Arrays.toString(s) + ", expected rank "
                    + rank);
        }
        return s;
    }

    static void bias(Op.ConstantShapes c, String bias, long length) {
        if (bias != null && constant(c, bias, 1)[0] != length) {
            throw new IllegalArgumentException("bias " + bias + " has " + c.apply(bias)[0] + " elements, expected "
                    + length);
        }
    }

    static void equal(Op op, String what, long got, long expected) {
        if (got != expected) {
            throw new IllegalArgumentException(op + ": " + what + " " + got + ", expected " + expected);
        }
    }

    static void sameShape(Op op, String what, long[] got, long[] expected) {
        if (!Arrays.equals(got, expected)) {
            throw new IllegalArgumentException(op + ": " + what + " has shape " + Arrays.toString(got) + ", expected "
                    + Arrays.toString(expected));
        }
    }

    static long[] positive(Op op, long[] shape) {
        for (long d : shape) {
            if (d < 1) {
                throw new IllegalArgumentException(op + ": the input is too small (output shape "
                        + Arrays.toString(shape) + ")");
            }
        }
        return shape;
    }

    static long elements(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }
}
