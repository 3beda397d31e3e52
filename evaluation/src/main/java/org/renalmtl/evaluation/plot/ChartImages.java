package org.renalmtl.evaluation.plot;

import java.awt.Rectangle;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

import org.jfree.chart.JFreeChart;
import org.jfree.chart.ChartUtils;
import org.jfree.svg.SVGGraphics2D;

/**
 * Renders a chart to PNG (raster, for the HTML report and quick viewing) and SVG (vector, for papers)
 * in memory; nothing touches a display, so it runs headless.
 *
 * @param png PNG bytes
 * @param svg SVG document bytes (UTF-8)
 */
public record ChartImages(byte[] png, byte[] svg) {

    /** Default figure width in pixels. */
    public static final int WIDTH = 720;
    /** Default figure height in pixels. */
    public static final int HEIGHT = 600;

    /**
     * Renders {@code chart} at {@code width × height} pixels.
     *
     * @param idPrefix unique prefix for the SVG's clip-path ids, so that several SVGs can share a page
     */
    public static ChartImages render(JFreeChart chart, int width, int height, String idPrefix) {
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        try {
            ChartUtils.writeChartAsPNG(png, chart, width, height);
        } catch (IOException e) {
            throw new UncheckedIOException("PNG encoding failed", e); // in-memory stream: not expected
        }
        SVGGraphics2D g2 = new SVGGraphics2D(width, height);
        g2.setDefsKeyPrefix(idPrefix);
        chart.draw(g2, new Rectangle(0, 0, width, height));
        return new ChartImages(png.toByteArray(), g2.getSVGDocument().getBytes(StandardCharsets.UTF_8));
    }
}
