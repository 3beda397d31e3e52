package org.renalmtl.cli.bench;

import com.fasterxml.jackson.databind.JsonNode;
import java.awt.Color;
import java.awt.Rectangle;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;
import org.jfree.svg.SVGGraphics2D;

/**
 * Scaling plots of a {@code bench} result: p50 latency and measured peak RSS of each model set against
 * input size, batch and task count (one axis varied, the others at their first value; first thread
 * count), each as PNG and SVG. An axis with one value gets no plot.
 */
public final class BenchPlots {
    private static final int WIDTH = 800;
    private static final int HEIGHT = 500;
    private static final List<String> AXES = List.of("size", "batch", "tasks");

    private BenchPlots() {}

    /**
     * Writes {@code latency-vs-AXIS.png/.svg} and {@code memory-vs-AXIS.png/.svg} for each axis with
     * more than one value.
     *
     * @param result {@link BenchRun#run}'s result
     * @return the files written
     */
    public static List<Path> write(JsonNode result, Path dir) throws IOException {
        JsonNode base = result.get("points").get(0);
        List<Path> written = new ArrayList<>();
        for (String axis : AXES) {
            List<JsonNode> line = new ArrayList<>();
            for (JsonNode p : result.get("points")) {
                if (p.get("threads").equals(base.get("threads")) && AXES.stream()
                        .allMatch(a -> a.equals(axis) || p.get(a).equals(base.get(a)))) {
                    line.add(p);
                }
            }
            if (line.size() < 2) {
                continue;
            }
            line.sort(Comparator.comparingInt(p -> p.get(axis).asInt()));
            String x = axis.equals("size") ? "input edge (voxels, cubed)" : axis.equals("batch") ? "cases per forward"
                    : "tasks";
            written.addAll(save(chart("p50 latency vs " + axis, x, "p50 ms", line, axis, false), dir, "latency-vs-" + axis));
            written.addAll(save(chart("peak RSS of the models vs " + axis, x, "MiB", line, axis, true), dir,
                    "memory-vs-" + axis));
        }
        return written;
    }

    private static JFreeChart chart(String title, String x, String y, List<JsonNode> line, String axis, boolean memory) {
        XYSeriesCollection data = new XYSeriesCollection();
        for (String v : BenchRun.VARIANTS) {
            XYSeries s = new XYSeries(v);
            for (JsonNode p : line) {
                JsonNode r = BenchRun.variant(p, v);
                s.add(p.get(axis).asDouble(), memory
                        ? r.get("memory_measured").get("rss_model_peak_bytes").asDouble() / (1024.0 * 1024.0)
                        : r.get("latency").get("p50_ms").asDouble());
            }
            data.addSeries(s);
        }
        JFreeChart chart = ChartFactory.createXYLineChart(title, x, y, data, PlotOrientation.VERTICAL, true, false, false);
        XYPlot plot = chart.getXYPlot();
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(Color.LIGHT_GRAY);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
        // the measured points as marks: the lines between them are not measurements
        ((XYLineAndShapeRenderer) plot.getRenderer()).setDefaultShapesVisible(true);
        return chart;
    }

    private static List<Path> save(JFreeChart chart, Path dir, String stem) throws IOException {
        Path png = dir.resolve(stem + ".png");
        Path svg = dir.resolve(stem + ".svg");
        ChartUtils.saveChartAsPNG(png.toFile(), chart, WIDTH, HEIGHT);
        SVGGraphics2D g2 = new SVGGraphics2D(WIDTH, HEIGHT);
        g2.setDefsKeyPrefix(stem);
        chart.draw(g2, new Rectangle(0, 0, WIDTH, HEIGHT));
        Files.writeString(svg, g2.getSVGDocument(), StandardCharsets.UTF_8);
        return List.of(png, svg);
    }
}
