package dev.vecnorm.bench.compare;

import java.awt.Color;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.CategorySeries;
import org.knowm.xchart.style.Styler;

/** Prints the per-shape tables and writes the Markdown and CSV tables and the charts. */
final class Report {

    private static final String HEADER = "| op | implementation | ms | GB/s | % of floor | vs scalar ref | vs PyTorch "
            + "| max error vs float64 |";

    private Report() {
    }

    private static String markdownRow(Row r) {
        return "| " + r.op().label + " | " + r.implementation() + " | " + Row.fmt(r.ms(), "%.3f") + " | "
                + Row.fmt(r.gbPerSecond(), "%.1f") + " | " + Row.fmt(r.percentOfFloor(), "%.0f%%") + " | "
                + Row.fmt(r.scalarMs() / r.ms(), "%.2fx") + " | " + Row.fmt(r.pytorchMs() / r.ms(), "%.2fx") + " | "
                + Row.fmt(r.maxError(), "%.1e") + " |";
    }

    static void printTable(String shape, List<Row> rows, PrintStream out) {
        out.println();
        out.println("## " + shape);
        out.println(HEADER);
        out.println("|---|---|---:|---:|---:|---:|---:|---:|");
        rows.forEach(r -> out.println(markdownRow(r)));
    }

    static void write(List<Row> rows, Path dir, boolean quick, int threads, PyTorchPeer torch) throws IOException {
        List<String> md = new ArrayList<>();
        md.add("# vecnorm compare" + (quick ? " --quick" : ""));
        md.add("");
        md.add(Environment.describe(threads));
        md.add("");
        md.add("GB/s counts the minimal DRAM traffic (8 B/elem for training and inference, 12 B/elem for backward);"
                + " the floor is a same-run streaming kernel moving those bytes. Speedups are time ratios"
                + " (>1: faster). \"vs PyTorch\" is against the faster of PyTorch's avx2/avx512 runs"
                + (torch == null ? " (PyTorch not installed: skipped)."
                        : ", timed with GLIBC_TUNABLES=" + PyTorchPeer.TUNABLES
                                + " so that its outputs are not mmap'ed anew per call (kernel time)."));
        String shape = null;
        for (Row r : rows) {
            if (!r.shape().equals(shape)) {
                shape = r.shape();
                md.add("");
                md.add("## " + shape);
                md.add("");
                md.add(HEADER);
                md.add("|---|---|---:|---:|---:|---:|---:|---:|");
            }
            md.add(markdownRow(r));
        }
        Files.write(dir.resolve("compare.md"), md);

        List<String> csv = new ArrayList<>();
        csv.add("shape,op,implementation,ms,gb_per_s,percent_of_floor,speedup_vs_scalar,speedup_vs_pytorch,max_error");
        for (Row r : rows) {
            csv.add(String.join(",", r.shape(), r.op().label, "\"" + r.implementation() + "\"", Row.fmt(r.ms(), "%.4f"),
                    Row.fmt(r.gbPerSecond(), "%.2f"), Row.fmt(r.percentOfFloor(), "%.1f"),
                    Row.fmt(r.scalarMs() / r.ms(), "%.3f"), Row.fmt(r.pytorchMs() / r.ms(), "%.3f"),
                    Row.fmt(r.maxError(), "%.2e")));
        }
        Files.write(dir.resolve("compare.csv"), csv);

        System.setProperty("java.awt.headless", "true");
        for (Op op : Op.values()) {
            chart(rows, op, dir.resolve("compare-" + op.label + ".png"));
        }
    }

    /** GB/s per shape (categories) and implementation (bars); the floor drawn as a line. */
    private static void chart(List<Row> rows, Op op, Path file) throws IOException {
        List<Row> ofOp = rows.stream().filter(r -> r.op() == op).toList();
        Set<String> shapes = new LinkedHashSet<>();
        Set<String> impls = new LinkedHashSet<>();
        ofOp.forEach(r -> {
            shapes.add(r.shape());
            impls.add(r.implementation());
        });
        CategoryChart chart = new CategoryChartBuilder().width(1400).height(650)
                .title("batch norm " + op.label + ": GB/s of minimal traffic (" + op.bytesPerElement + " B/elem)")
                .xAxisTitle("shape").yAxisTitle("GB/s").build();
        chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideE);
        chart.getStyler().setOverlapped(false);
        chart.getStyler().setXAxisLabelRotation(20);
        for (String impl : impls) {
            List<Double> values = new ArrayList<>();
            for (String shape : shapes) {
                values.add(ofOp.stream().filter(r -> r.shape().equals(shape) && r.implementation().equals(impl))
                        .mapToDouble(Row::gbPerSecond).findFirst().orElse(0));
            }
            CategorySeries series = chart.addSeries(impl, new ArrayList<>(shapes), values);
            if (impl.equals(Compare.FLOOR)) {
                series.setChartCategorySeriesRenderStyle(CategorySeries.CategorySeriesRenderStyle.Line);
                series.setLineColor(Color.BLACK);
                series.setMarkerColor(Color.BLACK);
            }
        }
        BitmapEncoder.saveBitmap(chart, file.toString(), BitmapEncoder.BitmapFormat.PNG);
    }
}
