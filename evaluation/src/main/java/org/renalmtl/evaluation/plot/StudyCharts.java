package org.renalmtl.evaluation.plot;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Shape;
import java.awt.geom.Ellipse2D;
import java.awt.geom.Path2D;
import java.awt.geom.Rectangle2D;
import java.util.List;
import java.util.Locale;

import org.jfree.chart.JFreeChart;
import org.jfree.chart.annotations.XYLineAnnotation;
import org.jfree.chart.annotations.XYTextAnnotation;
import org.jfree.chart.annotations.XYTitleAnnotation;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.NumberTickUnit;
import org.jfree.chart.axis.SymbolAxis;
import org.jfree.chart.block.BlockBorder;
import org.jfree.chart.block.ColumnArrangement;
import org.jfree.chart.plot.CombinedDomainXYPlot;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.DeviationRenderer;
import org.jfree.chart.renderer.xy.StandardXYBarPainter;
import org.jfree.chart.renderer.xy.XYBarRenderer;
import org.jfree.chart.renderer.xy.XYErrorRenderer;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.title.LegendTitle;
import org.jfree.chart.ui.RectangleAnchor;
import org.jfree.chart.ui.RectangleEdge;
import org.jfree.chart.ui.TextAnchor;
import org.jfree.data.statistics.HistogramDataset;
import org.jfree.data.statistics.HistogramType;
import org.jfree.data.xy.XYIntervalSeries;
import org.jfree.data.xy.XYIntervalSeriesCollection;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;
import org.jfree.data.xy.YIntervalSeries;
import org.jfree.data.xy.YIntervalSeriesCollection;
import org.renalmtl.evaluation.calibration.SmoothCalibration;
import org.renalmtl.evaluation.roc.RocCurve;

/**
 * The figures of a study report: a square ROC panel per task and cohort (every model, AUC (95% CI) in
 * the legend inside the plot, reader operating points as markers), a smoothed calibration plot with
 * its band over a histogram of the predicted risks, and a forest plot of AUCs with CIs.
 */
public final class StudyCharts {

    private static final Font TITLE = new Font(Font.SANS_SERIF, Font.BOLD, 15);
    private static final Font LABEL = new Font(Font.SANS_SERIF, Font.PLAIN, 13);
    private static final Font SMALL = new Font(Font.SANS_SERIF, Font.PLAIN, 11);
    private static final Color GRID = new Color(220, 220, 220);

    /**
     * One model's curve.
     *
     * @param legend legend text, e.g. "MTDL 0.87 (0.82–0.92)"
     * @param curve  the curve
     * @param point  the operating point to mark (threshold fixed on the internal cohort), or null
     */
    public record Curve(String legend, RocCurve curve, RocCurve.OperatingPoint point) {
    }

    /**
     * A reader's operating point.
     *
     * @param name        reader label
     * @param group       legend entry of its group (e.g. "Readers, test 1"); one marker shape per group
     * @param sensitivity sensitivity
     * @param specificity specificity
     */
    public record ReaderMark(String name, String group, double sensitivity, double specificity) {
    }

    /**
     * A row of a forest plot.
     *
     * @param name  row label
     * @param auc   estimate
     * @param low   lower limit
     * @param high  upper limit
     */
    public record ForestRow(String name, double auc, double low, double high) {
    }

    private StudyCharts() {
    }

    /** Square ROC panel: curves, operating points, reader markers, legend inside at the lower right. */
    public static JFreeChart roc(String title, List<Curve> curves, List<ReaderMark> readers) {
        XYPlot plot = unitPlot("1 − specificity", "Sensitivity");
        // A hair beyond [0, 1], so that a reader or point at sensitivity 1 (or 1 − specificity 0) shows whole.
        plot.getDomainAxis().setRange(-0.012, 1.012);
        plot.getRangeAxis().setRange(-0.012, 1.012);
        XYSeriesCollection lines = new XYSeriesCollection();
        XYLineAndShapeRenderer lineRenderer = new XYLineAndShapeRenderer(true, false);
        XYSeriesCollection marks = new XYSeriesCollection();
        XYLineAndShapeRenderer markRenderer = new XYLineAndShapeRenderer(false, true);
        int k = 0;
        for (int i = 0; i < curves.size(); i++) {
            Curve c = curves.get(i);
            XYSeries s = new XYSeries(c.legend(), false, true);
            for (RocCurve.OperatingPoint p : c.curve().thinned(Charts.CURVE_POINTS)) {
                s.add(1 - p.specificity(), p.sensitivity());
            }
            lines.addSeries(s);
            lineRenderer.setSeriesPaint(i, Charts.color(i));
            lineRenderer.setSeriesStroke(i, new BasicStroke(2.2f));
            if (c.point() != null) {
                XYSeries op = new XYSeries(c.legend() + " operating point", false, true);
                op.add(1 - c.point().specificity(), c.point().sensitivity());
                marks.addSeries(op);
                markRenderer.setSeriesPaint(k, Charts.color(i));
                markRenderer.setSeriesShape(k, new Ellipse2D.Double(-5, -5, 10, 10));
                markRenderer.setSeriesVisibleInLegend(k, false);
                k++;
            }
        }
        List<String> groups = readers.stream().map(ReaderMark::group).distinct().toList();
        for (int g = 0; g < groups.size(); g++) {
            XYSeries r = new XYSeries(groups.get(g), false, true);
            for (ReaderMark m : readers) {
                if (!m.group().equals(groups.get(g))) {
                    continue;
                }
                r.add(1 - m.specificity(), m.sensitivity());
                XYTextAnnotation a = new XYTextAnnotation(m.name(), 1 - m.specificity() + 0.012, m.sensitivity() + 0.012);
                a.setFont(SMALL);
                a.setTextAnchor(TextAnchor.BOTTOM_LEFT);
                plot.addAnnotation(a);
            }
            marks.addSeries(r);
            markRenderer.setSeriesPaint(k, g == 0 ? Color.BLACK : Color.DARK_GRAY);
            markRenderer.setSeriesShape(k, g % 3 == 0 ? new Rectangle2D.Double(-5, -5, 10, 10)
                : g % 3 == 1 ? triangle() : new Ellipse2D.Double(-5, -5, 10, 10));
            markRenderer.setSeriesVisibleInLegend(k, true);
            k++;
        }
        plot.setDataset(0, marks);
        plot.setRenderer(0, markRenderer);
        plot.setDataset(1, lines);
        plot.setRenderer(1, lineRenderer);
        plot.addAnnotation(diagonal());
        JFreeChart chart = new JFreeChart(title, TITLE, plot, false);
        chart.setBackgroundPaint(Color.WHITE);
        // One model per line, inside the empty lower-right corner of the panel, as journals print it.
        LegendTitle legend = new LegendTitle(plot, new ColumnArrangement(), new ColumnArrangement());
        legend.setItemFont(SMALL);
        legend.setBackgroundPaint(new Color(255, 255, 255, 230));
        legend.setFrame(new BlockBorder(Color.LIGHT_GRAY));
        legend.setPosition(RectangleEdge.BOTTOM);
        plot.addAnnotation(new XYTitleAnnotation(0.98, 0.02, legend, RectangleAnchor.BOTTOM_RIGHT));
        return chart;
    }

    /**
     * Calibration plot: lowess curves with their bootstrap bands and the ideal line above, a histogram
     * of each model's predicted risks below; the legend gives intercept and slope with CIs.
     *
     * @param names   model names
     * @param results one calibration per model
     */
    public static JFreeChart calibration(String title, List<String> names, List<SmoothCalibration> results, double level) {
        NumberAxis x = axis("Predicted risk", 0, 1);
        CombinedDomainXYPlot combined = new CombinedDomainXYPlot(x);
        XYPlot top = unitPlot(null, "Observed proportion");
        YIntervalSeriesCollection bands = new YIntervalSeriesCollection();
        DeviationRenderer bandRenderer = new DeviationRenderer(true, false);
        bandRenderer.setAlpha(0.15f);
        HistogramDataset hist = new HistogramDataset();
        hist.setType(HistogramType.FREQUENCY);
        XYBarRenderer histRenderer = new XYBarRenderer(0);
        histRenderer.setShadowVisible(false);
        histRenderer.setBarPainter(new StandardXYBarPainter());
        int pct = (int) Math.round(level * 100);
        for (int i = 0; i < results.size(); i++) {
            SmoothCalibration c = results.get(i);
            // No finite maximum-likelihood fit exists when the risks separate the outcomes perfectly.
            String legend = Double.isNaN(c.summary().slope())
                ? names.get(i) + ": intercept and slope not estimable (the risks separate the outcomes)"
                : String.format(Locale.ROOT, "%s: intercept %s (%s to %s), slope %s (%s to %s)", names.get(i),
                    two(c.summary().intercept()), two(c.interceptLow()), two(c.interceptHigh()), two(c.summary().slope()),
                    two(c.slopeLow()), two(c.slopeHigh()));
            YIntervalSeries s = new YIntervalSeries(legend, false, true);
            // The curve is drawn through the band's grid (41 points across the observed risks): lowess is smooth.
            for (int g = 0; g < c.grid().length; g++) {
                double v = SmoothCalibration.interpolate(c.curve(), c.grid()[g]);
                boolean band = Double.isFinite(c.bandLow()[g]);
                s.add(c.grid()[g], v, band ? c.bandLow()[g] : v, band ? c.bandHigh()[g] : v);
            }
            bands.addSeries(s);
            bandRenderer.setSeriesPaint(i, Charts.color(i));
            bandRenderer.setSeriesFillPaint(i, Charts.color(i));
            bandRenderer.setSeriesStroke(i, new BasicStroke(2.2f));
            hist.addSeries(names.get(i), c.risks(), 20, 0, 1);
            histRenderer.setSeriesPaint(i, translucent(Charts.color(i)));
        }
        top.setDataset(bands);
        top.setRenderer(bandRenderer);
        top.addAnnotation(diagonal());
        XYTextAnnotation note = new XYTextAnnotation("lowess (f = 2/3), shaded: " + pct + "% bootstrap band; dashed: ideal",
            0.02, 0.98);
        note.setFont(SMALL);
        note.setTextAnchor(TextAnchor.TOP_LEFT);
        top.addAnnotation(note);
        NumberAxis count = new NumberAxis("Count");
        count.setLabelFont(LABEL);
        XYPlot bottom = new XYPlot(hist, null, count, histRenderer);
        bottom.setBackgroundPaint(Color.WHITE);
        bottom.setRangeGridlinePaint(GRID);
        combined.add(top, 4);
        combined.add(bottom, 1);
        combined.setGap(6);
        JFreeChart chart = new JFreeChart(title, TITLE, combined, true);
        chart.setBackgroundPaint(Color.WHITE);
        chart.getLegend().setPosition(RectangleEdge.BOTTOM);
        chart.getLegend().setFrame(BlockBorder.NONE);
        chart.getLegend().setItemFont(SMALL);
        return chart;
    }

    /** Forest plot: one row per reader (and the model), AUC with CI, a vertical line at {@code reference}. */
    public static JFreeChart forest(String title, List<ForestRow> rows, double reference, String referenceLabel) {
        String[] names = new String[rows.size()];
        XYIntervalSeries s = new XYIntervalSeries("AUC (95% CI)");
        for (int i = 0; i < rows.size(); i++) {
            ForestRow r = rows.get(rows.size() - 1 - i); // first row at the top
            names[i] = r.name();
            s.add(r.auc(), r.low(), r.high(), i, i, i);
        }
        XYIntervalSeriesCollection data = new XYIntervalSeriesCollection();
        data.addSeries(s);
        XYErrorRenderer renderer = new XYErrorRenderer();
        renderer.setDrawYError(false);
        renderer.setDefaultShapesVisible(true);
        renderer.setDefaultLinesVisible(false);
        renderer.setSeriesShape(0, new Rectangle2D.Double(-4, -4, 8, 8));
        renderer.setSeriesPaint(0, Charts.color(0));
        renderer.setErrorPaint(Color.DARK_GRAY);
        renderer.setErrorStroke(new BasicStroke(1.6f));
        double lo = rows.stream().mapToDouble(ForestRow::low).filter(Double::isFinite).min().orElse(0.5);
        // A little room right of 1 so that a reader at AUC 1 keeps its whole marker.
        NumberAxis x = axis("AUC", Math.max(0, Math.floor(lo * 10) / 10 - 0.05), 1.012);
        x.setTickUnit(new NumberTickUnit(0.05));
        SymbolAxis y = new SymbolAxis(null, names);
        y.setTickLabelFont(LABEL);
        y.setGridBandsVisible(false);
        y.setRange(-0.7, rows.size() - 0.3);
        XYPlot plot = new XYPlot(data, x, y, renderer);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(GRID);
        plot.setOutlinePaint(Color.GRAY);
        if (Double.isFinite(reference)) {
            plot.addAnnotation(new XYLineAnnotation(reference, -0.7, reference, rows.size() - 0.3, dashed(), Color.GRAY));
            XYTextAnnotation a = new XYTextAnnotation(referenceLabel, reference, rows.size() - 0.35);
            a.setFont(SMALL);
            a.setTextAnchor(TextAnchor.TOP_RIGHT);
            plot.addAnnotation(a);
        }
        JFreeChart chart = new JFreeChart(title, TITLE, plot, false);
        chart.setBackgroundPaint(Color.WHITE);
        return chart;
    }

    private static XYPlot unitPlot(String xLabel, String yLabel) {
        XYPlot plot = new XYPlot(null, xLabel == null ? null : axis(xLabel, 0, 1), axis(yLabel, 0, 1), null);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(GRID);
        plot.setRangeGridlinePaint(GRID);
        plot.setOutlinePaint(Color.GRAY);
        return plot;
    }

    private static NumberAxis axis(String label, double lo, double hi) {
        NumberAxis a = new NumberAxis(label);
        a.setRange(lo, hi);
        if (hi - lo == 1) {
            a.setTickUnit(new NumberTickUnit(0.1));
        }
        a.setLabelFont(LABEL);
        return a;
    }

    private static XYLineAnnotation diagonal() {
        return new XYLineAnnotation(0, 0, 1, 1, dashed(), Color.GRAY);
    }

    private static BasicStroke dashed() {
        return new BasicStroke(1f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 1f, new float[]{4f, 3f}, 0f);
    }

    private static Shape triangle() {
        Path2D.Double t = new Path2D.Double();
        t.moveTo(0, -6);
        t.lineTo(6, 5);
        t.lineTo(-6, 5);
        t.closePath();
        return t;
    }

    // Two decimals, without the "-0.00" that an intercept of -1e-17 would print.
    private static String two(double v) {
        String t = String.format(Locale.ROOT, "%.2f", v);
        return t.equals("-0.00") ? "0.00" : t;
    }

    private static Color translucent(Color c) {
        return new Color(c.getRed(), c.getGreen(), c.getBlue(), 110);
    }
}
