package org.renalmtl.evaluation.plot;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Paint;
import java.awt.Shape;
import java.awt.geom.Ellipse2D;
import java.awt.geom.Rectangle2D;
import java.util.List;
import java.util.Map;

import org.jfree.chart.JFreeChart;
import org.jfree.chart.annotations.XYLineAnnotation;
import org.jfree.chart.annotations.XYTextAnnotation;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.NumberTickUnit;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.DeviationRenderer;
import org.jfree.chart.renderer.xy.XYErrorRenderer;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.title.LegendTitle;
import org.jfree.chart.ui.RectangleEdge;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;
import org.jfree.data.xy.YIntervalSeries;
import org.jfree.data.xy.YIntervalSeriesCollection;
import org.jfree.data.xy.XYIntervalSeries;
import org.jfree.data.xy.XYIntervalSeriesCollection;
import org.renalmtl.evaluation.calibration.Calibration;
import org.renalmtl.evaluation.dca.DecisionCurve;
import org.renalmtl.evaluation.roc.RocCurve;
import org.renalmtl.evaluation.roc.SensitivityBand;

/**
 * The JFreeChart figures of the toolkit: ROC curves with a bootstrap band and operating points,
 * decision curves, calibration curves, and reader operating points against a model's ROC curve.
 * All share one look (white background, grey grid, a colour-blind-safe palette, a legend below).
 */
public final class Charts {

    /** Okabe–Ito palette, safe for the common colour-vision deficiencies. */
    private static final Color[] PALETTE = {new Color(0, 114, 178), new Color(213, 94, 0), new Color(0, 158, 115),
        new Color(204, 121, 167), new Color(230, 159, 0), new Color(86, 180, 233), new Color(240, 228, 66),
        Color.BLACK};
    /**
     * Most points drawn for one ROC curve: a curve of N cases has up to N + 1 points, and a million of
     * them made a 243 MB SVG; 2 000 points draw it to within 0.001 (see {@link RocCurve#thinned}).
     */
    public static final int CURVE_POINTS = 2_000;
    /** Most points drawn for all readers' curves together, shared out equally (at least 50 each). */
    public static final int READER_CURVE_POINTS = 20_000;
    private static final Font TITLE = new Font(Font.SANS_SERIF, Font.BOLD, 15);
    private static final Font LABEL = new Font(Font.SANS_SERIF, Font.PLAIN, 13);

    /**
     * One score's ROC curve with its optional band and operating point.
     *
     * @param name  legend label
     * @param curve the empirical curve
     * @param band  bootstrap band of the sensitivity, or null
     * @param point operating point to mark (e.g. Youden), or null
     */
    public record RocSeries(String name, RocCurve curve, SensitivityBand.Band band, RocCurve.OperatingPoint point) {
    }

    /**
     * A reader's operating point.
     *
     * @param name  reader label
     * @param group legend group (e.g. the test/modality)
     * @param point the point
     */
    public record ReaderPoint(String name, String group, RocCurve.OperatingPoint point) {
    }

    private Charts() {
    }

    /** Colour of series i. */
    public static Color color(int i) {
        return PALETTE[i % PALETTE.length];
    }

    /** ROC curves (x = 1 − specificity, y = sensitivity), shaded bootstrap bands, operating points. */
    public static JFreeChart roc(String title, List<RocSeries> series) {
        XYPlot plot = basePlot("1 − specificity", "Sensitivity", 0, 1, 0, 1);
        int dataset = 0;
        YIntervalSeriesCollection bands = new YIntervalSeriesCollection();
        DeviationRenderer bandRenderer = new DeviationRenderer(false, false);
        bandRenderer.setAlpha(0.12f);
        int bandIndex = 0;
        for (int i = 0; i < series.size(); i++) {
            SensitivityBand.Band b = series.get(i).band();
            if (b == null) {
                continue;
            }
            YIntervalSeries ys = new YIntervalSeries(series.get(i).name() + " 95% band", false, true);
            for (int k = 0; k < b.specificity().length; k++) {
                ys.add(1 - b.specificity()[k], b.sensitivity()[k], b.low()[k], b.high()[k]);
            }
            bands.addSeries(ys);
            bandRenderer.setSeriesFillPaint(bandIndex, color(i));
            bandRenderer.setSeriesPaint(bandIndex, color(i));
            bandRenderer.setSeriesVisibleInLegend(bandIndex, false);
            bandIndex++;
        }
        XYSeriesCollection curves = new XYSeriesCollection();
        XYLineAndShapeRenderer curveRenderer = new XYLineAndShapeRenderer(true, false);
        XYSeriesCollection points = new XYSeriesCollection();
        XYLineAndShapeRenderer pointRenderer = new XYLineAndShapeRenderer(false, true);
        int pointIndex = 0;
        for (int i = 0; i < series.size(); i++) {
            RocSeries s = series.get(i);
            XYSeries xy = new XYSeries(s.name(), false, true);
            for (RocCurve.OperatingPoint p : s.curve().thinned(CURVE_POINTS)) {
                xy.add(1 - p.specificity(), p.sensitivity());
            }
            curves.addSeries(xy);
            curveRenderer.setSeriesPaint(i, color(i));
            curveRenderer.setSeriesStroke(i, new BasicStroke(2.2f));
            if (s.point() != null) {
                XYSeries op = new XYSeries(s.name() + " Youden point", false, true);
                op.add(1 - s.point().specificity(), s.point().sensitivity());
                points.addSeries(op);
                pointRenderer.setSeriesPaint(pointIndex, color(i));
                pointRenderer.setSeriesShape(pointIndex, circle(9));
                pointRenderer.setSeriesVisibleInLegend(pointIndex, false);
                // Labels step down per series so that nearby Youden points of different scores stay legible.
                plot.addAnnotation(label(String.format(java.util.Locale.ROOT, "t=%.3g", s.point().threshold()),
                    1 - s.point().specificity() + 0.02, s.point().sensitivity() - 0.03 - 0.035 * i, color(i)));
                pointIndex++;
            }
        }
        plot.setDataset(dataset, points);
        plot.setRenderer(dataset++, pointRenderer);
        plot.setDataset(dataset, curves);
        plot.setRenderer(dataset++, curveRenderer);
        plot.setDataset(dataset, bands);
        plot.setRenderer(dataset, bandRenderer);
        plot.addAnnotation(diagonal());
        return chart(title, plot);
    }

    /** Net benefit against threshold probability for treat-all, treat-none and each model. */
    public static JFreeChart decisionCurve(String title, List<DecisionCurve.Row> rows, double prevalence) {
        Map<String, XYSeries> byVariable = new java.util.LinkedHashMap<>();
        double maxNb = 0;
        for (DecisionCurve.Row r : rows) {
            byVariable.computeIfAbsent(r.variable(), v -> new XYSeries(displayName(v), false, true))
                .add(r.threshold(), r.netBenefit());
            maxNb = Math.max(maxNb, r.netBenefit());
        }
        XYSeriesCollection data = new XYSeriesCollection();
        XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(true, false);
        int i = 0;
        int model = 0;
        for (Map.Entry<String, XYSeries> e : byVariable.entrySet()) {
            data.addSeries(e.getValue());
            Paint paint = switch (e.getKey()) {
                case DecisionCurve.ALL -> Color.GRAY;
                case DecisionCurve.NONE -> Color.BLACK;
                default -> color(model++);
            };
            renderer.setSeriesPaint(i, paint);
            renderer.setSeriesStroke(i, e.getKey().equals(DecisionCurve.ALL) || e.getKey().equals(DecisionCurve.NONE)
                ? new BasicStroke(1.5f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 1f, new float[]{6f, 4f}, 0f)
                : new BasicStroke(2.2f));
            i++;
        }
        // dcurves' plot shows net benefit from a little below 0 to a little above the prevalence.
        double top = Math.max(maxNb, prevalence) * 1.1 + 0.01;
        XYPlot plot = basePlot("Threshold probability", "Net benefit", 0, 1, -0.05 * Math.max(top, 0.2), top);
        double maxThreshold = rows.stream().mapToDouble(DecisionCurve.Row::threshold).max().orElse(1);
        plot.getDomainAxis().setRange(0, Math.max(maxThreshold, 0.01));
        plot.setDataset(data);
        plot.setRenderer(renderer);
        return chart(title, plot);
    }

    /** Binned calibration curves per model, with the ideal diagonal and ±1 binomial SE error bars. */
    public static JFreeChart calibration(String title, Map<String, Calibration.Result> models) {
        XYIntervalSeriesCollection data = new XYIntervalSeriesCollection();
        XYErrorRenderer renderer = new XYErrorRenderer();
        renderer.setDefaultLinesVisible(true);
        renderer.setDefaultShapesVisible(true);
        int i = 0;
        for (Map.Entry<String, Calibration.Result> e : models.entrySet()) {
            XYIntervalSeries s = new XYIntervalSeries(e.getKey());
            for (Calibration.Bin b : e.getValue().bins()) {
                double se = Math.sqrt(b.observed() * (1 - b.observed()) / b.count());
                s.add(b.meanPredicted(), b.meanPredicted(), b.meanPredicted(), b.observed(),
                    Math.max(0, b.observed() - se), Math.min(1, b.observed() + se));
            }
            data.addSeries(s);
            renderer.setSeriesPaint(i, color(i));
            renderer.setSeriesShape(i, circle(7));
            renderer.setSeriesStroke(i, new BasicStroke(1.8f));
            i++;
        }
        renderer.setDrawXError(false);
        XYPlot plot = basePlot("Predicted risk", "Observed fraction", 0, 1, 0, 1);
        plot.setDataset(data);
        plot.setRenderer(renderer);
        plot.addAnnotation(diagonal());
        return chart(title, plot);
    }

    /**
     * Readers' ROC curves (thin) and operating points against the model's ROC curve (bold), if any.
     *
     * @param model        the model's curve, or null
     * @param readerCurves readers' empirical curves keyed by "group: reader", coloured by group
     * @param points       the readers' operating points
     */
    public static JFreeChart readers(String title, RocSeries model, Map<String, RocCurve> readerCurves,
                                     List<ReaderPoint> points, List<String> groups) {
        return readers(title, model, readerCurves, points, groups, "Youden points");
    }

    /**
     * As {@link #readers(String, RocSeries, Map, List, List)}, with the legend's name for the points
     * (e.g. "rating ≥ 3" when they are the readers' calls rather than their Youden points).
     */
    public static JFreeChart readers(String title, RocSeries model, Map<String, RocCurve> readerCurves,
                                     List<ReaderPoint> points, List<String> groups, String pointsAre) {
        XYPlot plot = basePlot("1 − specificity", "Sensitivity", 0, 1, 0, 1);
        XYSeriesCollection pointData = new XYSeriesCollection();
        XYLineAndShapeRenderer pointRenderer = new XYLineAndShapeRenderer(false, true);
        for (int g = 0; g < groups.size(); g++) {
            XYSeries s = new XYSeries("Test " + groups.get(g) + " readers (" + pointsAre + ")", false, true);
            for (ReaderPoint p : points) {
                if (p.group().equals(groups.get(g))) {
                    s.add(1 - p.point().specificity(), p.point().sensitivity());
                    plot.addAnnotation(label(p.name(), 1 - p.point().specificity() + 0.012,
                        p.point().sensitivity() - 0.025, color(g + 1)));
                }
            }
            pointData.addSeries(s);
            pointRenderer.setSeriesPaint(g, color(g + 1));
            pointRenderer.setSeriesShape(g, g % 2 == 0 ? new Rectangle2D.Double(-5, -5, 10, 10) : circle(10));
        }
        XYSeriesCollection curveData = new XYSeriesCollection();
        XYLineAndShapeRenderer curveRenderer = new XYLineAndShapeRenderer(true, false);
        int i = 0;
        if (model != null) {
            XYSeries s = new XYSeries(model.name(), false, true);
            for (RocCurve.OperatingPoint p : model.curve().thinned(CURVE_POINTS)) {
                s.add(1 - p.specificity(), p.sensitivity());
            }
            curveData.addSeries(s);
            curveRenderer.setSeriesPaint(i, color(0));
            curveRenderer.setSeriesStroke(i, new BasicStroke(2.8f));
            i++;
        }
        int perReader = Math.max(50, READER_CURVE_POINTS / Math.max(1, readerCurves.size()));
        for (Map.Entry<String, RocCurve> e : readerCurves.entrySet()) {
            XYSeries s = new XYSeries(e.getKey(), false, true);
            for (RocCurve.OperatingPoint p : e.getValue().thinned(perReader)) {
                s.add(1 - p.specificity(), p.sensitivity());
            }
            curveData.addSeries(s);
            int g = groups.indexOf(e.getKey().substring(0, e.getKey().indexOf(':')));
            curveRenderer.setSeriesPaint(i, translucent(color(g + 1)));
            curveRenderer.setSeriesStroke(i, new BasicStroke(1.0f));
            curveRenderer.setSeriesVisibleInLegend(i, false);
            i++;
        }
        plot.setDataset(0, pointData);
        plot.setRenderer(0, pointRenderer);
        plot.setDataset(1, curveData);
        plot.setRenderer(1, curveRenderer);
        plot.addAnnotation(diagonal());
        return chart(title, plot);
    }

    private static XYPlot basePlot(String xLabel, String yLabel, double xMin, double xMax, double yMin, double yMax) {
        NumberAxis x = new NumberAxis(xLabel);
        NumberAxis y = new NumberAxis(yLabel);
        x.setRange(xMin, xMax);
        y.setRange(yMin, yMax);
        // Unit-interval axes read best in steps of 0.1; other ranges keep JFreeChart's automatic ticks.
        if (xMax - xMin == 1) {
            x.setTickUnit(new NumberTickUnit(0.1));
        }
        if (yMax - yMin == 1) {
            y.setTickUnit(new NumberTickUnit(0.1));
        }
        x.setLabelFont(LABEL);
        y.setLabelFont(LABEL);
        XYPlot plot = new XYPlot(null, x, y, null);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(new Color(220, 220, 220));
        plot.setRangeGridlinePaint(new Color(220, 220, 220));
        plot.setOutlinePaint(Color.GRAY);
        return plot;
    }

    private static JFreeChart chart(String title, XYPlot plot) {
        JFreeChart chart = new JFreeChart(title, TITLE, plot, true);
        chart.setBackgroundPaint(Color.WHITE);
        LegendTitle legend = chart.getLegend();
        legend.setPosition(RectangleEdge.BOTTOM);
        legend.setFrame(org.jfree.chart.block.BlockBorder.NONE);
        return chart;
    }

    private static XYLineAnnotation diagonal() {
        return new XYLineAnnotation(0, 0, 1, 1,
            new BasicStroke(1f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 1f, new float[]{3f, 3f}, 0f),
            Color.GRAY);
    }

    private static XYTextAnnotation label(String text, double x, double y, Color c) {
        XYTextAnnotation a = new XYTextAnnotation(text, x, y);
        a.setPaint(c.darker());
        a.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        a.setTextAnchor(org.jfree.chart.ui.TextAnchor.TOP_LEFT);
        return a;
    }

    private static Shape circle(double d) {
        return new Ellipse2D.Double(-d / 2, -d / 2, d, d);
    }

    private static Color translucent(Color c) {
        return new Color(c.getRed(), c.getGreen(), c.getBlue(), 110);
    }

    private static String displayName(String variable) {
        return switch (variable) {
            case DecisionCurve.ALL -> "Treat all";
            case DecisionCurve.NONE -> "Treat none";
            default -> variable;
        };
    }
}
