package org.renalmtl.evaluation.plot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.util.List;
import java.util.Map;

import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.plugins.tiff.BaselineTIFFTagSet;
import javax.imageio.plugins.tiff.TIFFDirectory;
import javax.imageio.stream.ImageInputStream;

import org.apache.pdfbox.Loader;
import org.apache.pdfbox.pdmodel.PDDocument;
import org.apache.pdfbox.pdmodel.PDPage;
import org.apache.pdfbox.text.PDFTextStripper;
import org.junit.jupiter.api.Test;
import org.renalmtl.evaluation.roc.RocCurve;
import org.renalmtl.evaluation.roc.RocSample;

/** The figure formats: a 300-dpi TIFF says so in its tags, and the PDF is one vector page of the right size. */
class FigureFormatsTest {

    private static org.jfree.chart.JFreeChart chart() {
        RocCurve c = RocCurve.of(RocSample.of(new double[]{0.1, 0.4, 0.35, 0.8, 0.7, 0.2},
            new boolean[]{false, false, true, true, true, false}));
        return StudyCharts.roc("ROC", List.of(new StudyCharts.Curve("model AUC 0.889", c, c.youden())),
            List.of(new StudyCharts.ReaderMark("R1", "Readers", 0.6, 0.7)));
    }

    @Test
    void tiffCarries300DpiInItsResolutionTags() throws Exception {
        byte[] tif = FigureFormats.tiff(chart(), 200, 200);
        try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(tif))) {
            ImageReader reader = ImageIO.getImageReaders(in).next();
            reader.setInput(in);
            assertEquals(600, reader.getWidth(0)); // 200 screen pixels = 2 in at 300 dpi
            TIFFDirectory dir = TIFFDirectory.createFromMetadata(reader.getImageMetadata(0));
            long[] x = dir.getTIFFField(BaselineTIFFTagSet.TAG_X_RESOLUTION).getAsRational(0);
            long[] y = dir.getTIFFField(BaselineTIFFTagSet.TAG_Y_RESOLUTION).getAsRational(0);
            assertEquals(300.0, x[0] / (double) x[1], 0);
            assertEquals(300.0, y[0] / (double) y[1], 0);
            assertEquals(BaselineTIFFTagSet.RESOLUTION_UNIT_INCH,
                dir.getTIFFField(BaselineTIFFTagSet.TAG_RESOLUTION_UNIT).getAsInt(0));
        }
    }

    @Test
    void pdfIsOneVectorPage() throws Exception {
        Map<String, byte[]> files = FigureFormats.render(chart(), 400, 400, "roc_x");
        assertEquals(List.of("roc_x.png", "roc_x.svg", "roc_x.pdf", "roc_x.tif"), List.copyOf(files.keySet()));
        try (PDDocument doc = Loader.loadPDF(files.get("roc_x.pdf"))) {
            assertEquals(1, doc.getNumberOfPages());
            PDPage page = doc.getPage(0);
            assertEquals(400, page.getMediaBox().getWidth(), 0);
            // Vector: no raster image anywhere in the page's resources (the chart is drawn as paths and text).
            assertTrue(countImages(page) == 0, "the PDF holds a raster image");
            String text = new PDFTextStripper().getText(doc);
            assertTrue(text.contains("Sensitivity") || text.isBlank(), text);
        }
    }

    private static int countImages(PDPage page) throws java.io.IOException {
        int n = 0;
        for (var name : page.getResources().getXObjectNames()) {
            var x = page.getResources().getXObject(name);
            if (x instanceof org.apache.pdfbox.pdmodel.graphics.image.PDImageXObject) {
                n++;
            } else if (x instanceof org.apache.pdfbox.pdmodel.graphics.form.PDFormXObject f) {
                for (var inner : f.getResources().getXObjectNames()) {
                    n += f.getResources().getXObject(inner) instanceof org.apache.pdfbox.pdmodel.graphics.image.PDImageXObject ? 1 : 0;
                }
            }
        }
        return n;
    }
}
