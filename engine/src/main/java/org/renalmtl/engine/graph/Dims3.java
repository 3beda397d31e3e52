package org.renalmtl.engine.graph;

/**
 * A per-axis parameter of a 3-D op (stride, padding, dilation, kernel) over (D, H, W).
 *
 * @param d depth (z)
 * @param h height (y)
 * @param w width (x)
 */
public record Dims3(int d, int h, int w) {
    /** The same value on every axis. */
    public static Dims3 of(int all) {
        return new Dims3(all, all, all);
    }

    /** From a (d, h, w) array, as the weight config stores it. */
    public static Dims3 of(int[] dhw) {
        if (dhw.length != 3) {
            throw new IllegalArgumentException("expected 3 values (d, h, w), got " + dhw.length);
        }
        return new Dims3(dhw[0], dhw[1], dhw[2]);
    }

    /** @return axis {@code i} (0 = d, 1 = h, 2 = w) */
    public int get(int i) {
        return switch (i) {
            case 0 -> d;
            case 1 -> h;
            case 2 -> w;
            default -> throw new IndexOutOfBoundsException(i);
        };
    }

    /** @return (d, h, w) as a new array */
    public int[] toArray() {
        return new int[] {d, h, w};
    }

    /** @return whether every axis is at least {@code min} */
    boolean atLeast(int min) {
        return d >= min && h >= min && w >= min;
    }

    @Override
    public String toString() {
        return d == h && h == w ? Integer.toString(d) : "(" + d + "," + h + "," + w + ")";
    }
}
