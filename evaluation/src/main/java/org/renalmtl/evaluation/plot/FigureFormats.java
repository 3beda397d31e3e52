package org.renalmtl.evaluation.plot;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.Rectangle;
import java.awt.RenderingHints;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.Map;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.plugins.tiff.BaselineTIFFTagSet;
import javax.imageio.plugins.tiff.TIFFDirectory;
import javax.imageio.plugins.tiff.TIFFField;
import javax.imageio.plugins.tiff.TIFFTag;
import javax.imageio.stream.MemoryCacheImageOutputStream;

import de.rototor.pdfbox.graphics2d.PdfBoxGraphics2D;

import org.apache.pdfbox.pdmodel.PDDocument;
import org.apache.pdfbox.pdmodel.PDPage;
import org.apache.pdfbox.pdmodel.PDPageContentStream;
import org.apache.pdfbox.pdmodel.common.PDRectangle;
import org.apache.pdfbox.pdmodel.graphics.form.PDFormXObject;
import org.jfree.chart.JFreeChart;

/**
 * A figure in the formats journals ask for, rendered in memory: PNG (screen, the HTML report), SVG
 * and PDF (vector: PDFBox through rototor's Graphics2D, text drawn as outlines where the font is not
 * embeddable) and TIFF at {@value #TIFF_DPI} dpi (deflate-compressed RGB, with the resolution written
 * in the XResolution/YResolution/ResolutionUnit tags, which is how journals' checkers read it).
 */
public final class FigureFormats {

    /** Resolution of the TIFF files. */
    public static final int TIFF_DPI = 300;
    /**
     * Screen pixels are taken as 1/100 inch for the TIFF: a 600-pixel figure is 6 in wide, 1800 pixels
     * at 300 dpi, so that its 13-pixel labels print at about 9 pt.
     */
    private static final double TIFF_SCALE = TIFF_DPI / 100.0;

    private FigureFormats() {
    }

    /**
     * The figure as {@code name.png}, {@code .svg}, {@code .pdf} and {@code .tif}.
     *
     * @return file name → bytes, PNG first
     */
    public static Map<String, byte[]> render(JFreeChart chart, int width, int height, String name) {
        Map<String, byte[]> files = new LinkedHashMap<>();
        ChartImages images = ChartImages.render(chart, width, height, name + "_");
        files.put(name + ".png", images.png());
        files.put(name + ".svg", images.svg());
        files.put(name + ".pdf", pdf(chart, width, height));
        files.put(name + ".tif", tiff(chart, width, height));
        return files;
    }

    /** A one-page vector PDF of {@code width × height} points. */
    public static byte[] pdf(JFreeChart chart, int width, int height) {
        try (PDDocument doc = new PDDocument()) {
            PDPage page = new PDPage(new PDRectangle(width, height));
            doc.addPage(page);
            PdfBoxGraphics2D g = new PdfBoxGraphics2D(doc, width, height);
            chart.draw(g, new Rectangle2D.Double(0, 0, width, height));
            g.dispose();
            PDFormXObject form = g.getXFormObject();
            try (PDPageContentStream content = new PDPageContentStream(doc, page)) {
                content.drawForm(form);
            }
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            doc.save(out);
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException("PDF rendering failed", e); // in-memory document: not expected
        }
    }

    /** An RGB TIFF at {@value #TIFF_DPI} dpi. */
    public static byte[] tiff(JFreeChart chart, int width, int height) {
        int w = (int) Math.round(width * TIFF_SCALE);
        int h = (int) Math.round(height * TIFF_SCALE);
        BufferedImage image = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_STROKE_CONTROL, RenderingHints.VALUE_STROKE_PURE);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, w, h);
        g.scale(TIFF_SCALE, TIFF_SCALE);
        chart.draw(g, new Rectangle(0, 0, width, height));
        g.dispose();
        ImageWriter writer = ImageIO.getImageWritersByFormatName("tiff").next();
        try {
            ImageWriteParam param = writer.getDefaultWriteParam();
            param.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
            param.setCompressionType("Deflate");
            IIOMetadata metadata = writer.getDefaultImageMetadata(ImageTypeSpecifier.createFromRenderedImage(image), param);
            TIFFDirectory dir = TIFFDirectory.createFromMetadata(metadata);
            BaselineTIFFTagSet base = BaselineTIFFTagSet.getInstance();
            long[][] dpi = {{TIFF_DPI, 1}};
            dir.addTIFFField(new TIFFField(base.getTag(BaselineTIFFTagSet.TAG_X_RESOLUTION), TIFFTag.TIFF_RATIONAL, 1, dpi));
            dir.addTIFFField(new TIFFField(base.getTag(BaselineTIFFTagSet.TAG_Y_RESOLUTION), TIFFTag.TIFF_RATIONAL, 1, dpi));
            dir.addTIFFField(new TIFFField(base.getTag(BaselineTIFFTagSet.TAG_RESOLUTION_UNIT),
                BaselineTIFFTagSet.RESOLUTION_UNIT_INCH));
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try (MemoryCacheImageOutputStream stream = new MemoryCacheImageOutputStream(out)) {
                writer.setOutput(stream);
                writer.write(null, new IIOImage(image, null, dir.getAsMetadata()), param);
            }
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException("TIFF encoding failed", e); // in-memory stream: not expected
        } finally {
            writer.dispose();
        }
    }
}
