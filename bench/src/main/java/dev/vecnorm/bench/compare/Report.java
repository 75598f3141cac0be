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

/** Prints the per-shape (per-case) tables and writes the Markdown and CSV tables and the charts. */
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
        printFloorWarnings(rows, out);
    }

    private static void printFloorWarnings(List<Row> rows, PrintStream out) {
        List<String> warnings = Row.floorWarnings(rows);
        if (!warnings.isEmpty()) {
            out.println();
            warnings.forEach(out::println);
        }
    }

    /** The rows of one shape (or case) followed by the floor warnings for them, as Markdown lines. */
    private static void addTable(List<String> md, List<Row> rows, java.util.function.Function<Row, String> format) {
        rows.forEach(r -> md.add(format.apply(r)));
        List<String> warnings = Row.floorWarnings(rows);
        if (!warnings.isEmpty()) {
            md.add("");
            warnings.forEach(md::add);
        }
    }

    /**
     * Writes compare.md (the BatchNorm tables, then a section per family suite), compare.csv and a chart per op
     * for BatchNorm, and compare-SUITE.csv and compare-SUITE.png per family suite.
     *
     * @param rows the BatchNorm (NCHW) rows, or null when that suite did not run
     * @param familyTorch PyTorch's family run, or null
     */
    static void write(List<Row> rows, List<FamilyCompare.Result> family, Path dir, boolean quick, int threads,
            PyTorchPeer torch, PyTorchPeer familyTorch) throws IOException {
        List<String> md = new ArrayList<>();
        md.add("# vecnorm compare" + (quick ? " --quick" : ""));
        md.add("");
        md.add(Environment.describe(threads));
        if (rows != null) {
            md.add("");
            md.add("GB/s counts the minimal DRAM traffic (8 B/elem for training and inference, 12 B/elem for "
                    + "backward); the floor is the best call of same-run streaming kernels moving those bytes (rows "
                    + "above 105% of it are flagged as a bad floor). Speedups are time ratios (>1: faster). "
                    + "\"vs PyTorch\" is against the faster of PyTorch's avx2/avx512 runs"
                    + (torch == null ? " (PyTorch not installed: skipped)."
                            : ", timed with GLIBC_TUNABLES=" + PyTorchPeer.TUNABLES
                                    + " so that its outputs are not mmap'ed anew per call (kernel time)."));
            for (String shape : new LinkedHashSet<>(rows.stream().map(Row::shape).toList())) {
                md.add("");
                md.add("## " + shape);
                md.add("");
                md.add(HEADER);
                md.add("|---|---|---:|---:|---:|---:|---:|---:|");
                addTable(md, rows.stream().filter(r -> r.shape().equals(shape)).toList(), Report::markdownRow);
            }
        }
        for (FamilyCompare.Result result : family) {
            md.addAll(familySection(result, familyTorch));
        }
        Files.write(dir.resolve("compare.md"), md);

        System.setProperty("java.awt.headless", "true");
        if (rows != null) {
            List<String> csv = new ArrayList<>();
            csv.add("shape,op,implementation,ms,gb_per_s,percent_of_floor,speedup_vs_scalar,speedup_vs_pytorch,"
                    + "max_error");
            for (Row r : rows) {
                csv.add(String.join(",", r.shape(), r.op().label, "\"" + r.implementation() + "\"",
                        Row.fmt(r.ms(), "%.4f"), Row.fmt(r.gbPerSecond(), "%.2f"), Row.fmt(r.percentOfFloor(), "%.1f"),
                        Row.fmt(r.scalarMs() / r.ms(), "%.3f"), Row.fmt(r.pytorchMs() / r.ms(), "%.3f"),
                        Row.fmt(r.maxError(), "%.2e")));
            }
            Files.write(dir.resolve("compare.csv"), csv);
            for (Op op : Op.BATCH_NORM) {
                chart(rows, op, dir.resolve("compare-" + op.label + ".png"));
            }
        }
        for (FamilyCompare.Result result : family) {
            Files.write(dir.resolve(csvName(result.suite())), familyCsv(result));
            familyChart(result, dir.resolve(chartName(result.suite())));
        }
    }

    static String csvName(Suite suite) {
        return "compare-" + suite.label + ".csv";
    }

    static String chartName(Suite suite) {
        return "compare-" + suite.label + ".png";
    }

    // ----------------------------------------------------------------------------------------------------------
    // The family suites: a section per suite, a table per case; the fused suite adds "vs BN alone".

    private static final String FUSED_HEADER = HEADER + " vs BN alone |";

    private static String header(Suite suite) {
        return suite == Suite.FUSED ? FUSED_HEADER : HEADER;
    }

    private static String separator(Suite suite) {
        return "|---|---|---:|---:|---:|---:|---:|---:|" + (suite == Suite.FUSED ? "---:|" : "");
    }

    private static String familyRow(Suite suite, Row r) {
        return markdownRow(r) + (suite == Suite.FUSED ? " " + Row.fmt(r.percentOverBaseline(), "%+.1f%%") + " |" : "");
    }

    /** The suite's heading and notes, as the console shows them before its tables. */
    static void printSuiteHeader(Suite suite, List<String> notes, PrintStream out) {
        out.println();
        out.println("# " + suite.label + ": " + suite.title);
        notes.forEach(out::println);
    }

    static void printFamilyTable(Suite suite, String label, List<Row> rows, PrintStream out) {
        out.println();
        out.println("## " + suite.label + " " + label);
        out.println(header(suite));
        out.println(separator(suite));
        rows.forEach(r -> out.println(familyRow(suite, r)));
        printFloorWarnings(rows, out);
    }

    private static List<String> familySection(FamilyCompare.Result result, PyTorchPeer torch) {
        Suite suite = result.suite();
        List<String> md = new ArrayList<>();
        md.add("");
        md.add("## " + suite.label + ": " + suite.title);
        md.add("");
        md.add(String.join(" ", result.notes()) + " GB/s counts that minimal traffic; \"vs PyTorch\" is against "
                + "the faster of PyTorch's avx2/avx512 runs" + (torch == null ? " (PyTorch did not run: skipped)."
                        : "."));
        for (FamilyCompare.Case cs : result.cases()) {
            md.add("");
            md.add("### " + cs.label());
            md.add("");
            md.add(header(suite));
            md.add(separator(suite));
            addTable(md, result.rows().stream().filter(r -> r.shape().equals(cs.label())).toList(),
                    r -> familyRow(suite, r));
        }
        if (!result.summary().isEmpty()) {
            md.add("");
            result.summary().forEach(line -> md.add("- " + line));
        }
        return md;
    }

    private static List<String> familyCsv(FamilyCompare.Result result) {
        List<String> csv = new ArrayList<>();
        csv.add("shape,layout,op,implementation,ms,gb_per_s,percent_of_floor,speedup_vs_scalar,speedup_vs_pytorch,"
                + "max_error,percent_over_bn_alone");
        for (FamilyCompare.Case cs : result.cases()) {
            String layout = cs.suite() == Suite.LAYERNORM || cs.suite() == Suite.RMSNORM ? "" : cs.layoutName();
            for (Row r : result.rows()) {
                if (r.shape().equals(cs.label())) {
                    csv.add(String.join(",", cs.shape(), layout, r.op().label, "\"" + r.implementation() + "\"",
                            Row.fmt(r.ms(), "%.4f"), Row.fmt(r.gbPerSecond(), "%.2f"),
                            Row.fmt(r.percentOfFloor(), "%.1f"), Row.fmt(r.scalarMs() / r.ms(), "%.3f"),
                            Row.fmt(r.pytorchMs() / r.ms(), "%.3f"), Row.fmt(r.maxError(), "%.2e"),
                            Row.fmt(r.percentOverBaseline(), "%.2f")));
                }
            }
        }
        return csv;
    }

    /** GB/s per (case, op) (categories) and implementation (bars); the floor drawn as a line. */
    private static void familyChart(FamilyCompare.Result result, Path file) throws IOException {
        Set<String> categories = new LinkedHashSet<>();
        Set<String> impls = new LinkedHashSet<>();
        result.rows().forEach(r -> {
            categories.add(r.shape() + " " + r.op().label);
            impls.add(r.implementation());
        });
        CategoryChart chart = new CategoryChartBuilder().width(1400).height(650)
                .title(result.suite().label + ": GB/s of minimal traffic (8 B/elem; 12 B/elem backward and "
                        + "with a residual)")
                .xAxisTitle("case and op").yAxisTitle("GB/s").build();
        chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideE);
        chart.getStyler().setOverlapped(false);
        chart.getStyler().setXAxisLabelRotation(20);
        for (String impl : impls) {
            List<Double> values = new ArrayList<>();
            for (String category : categories) {
                values.add(result.rows().stream()
                        .filter(r -> (r.shape() + " " + r.op().label).equals(category)
                                && r.implementation().equals(impl))
                        .mapToDouble(Row::gbPerSecond).findFirst().orElse(0));
            }
            CategorySeries series = chart.addSeries(impl, new ArrayList<>(categories), values);
            if (impl.equals(Compare.FLOOR)) {
                series.setChartCategorySeriesRenderStyle(CategorySeries.CategorySeriesRenderStyle.Line);
                series.setLineColor(Color.BLACK);
                series.setMarkerColor(Color.BLACK);
            }
        }
        BitmapEncoder.saveBitmap(chart, file.toString(), BitmapEncoder.BitmapFormat.PNG);
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
