package dev.vecnorm.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every ```java block of README.md is a complete program: all of them compile together against the engine, each
 * runs, and its output is exactly the ```text block that follows it in the README.
 */
class ReadmeExamplesTest {

    private static final Pattern BLOCK = Pattern.compile("```java\\n(.*?)```\\s*```text\\n(.*?)```", Pattern.DOTALL);
    private static final Pattern CLASS = Pattern.compile("public class (\\w+)");

    private record Example(String className, String source, String expectedOutput) {
    }

    private static List<Example> examples() throws Exception {
        String readme = Files.readString(Path.of(System.getProperty("user.dir")).resolve("../README.md"));
        List<Example> all = new ArrayList<>();
        Matcher m = BLOCK.matcher(readme);
        while (m.find()) {
            Matcher c = CLASS.matcher(m.group(1));
            assertTrue(c.find(), "a README java block without a public class:\n" + m.group(1));
            all.add(new Example(c.group(1), m.group(1), m.group(2)));
        }
        long javaBlocks = Pattern.compile("```java\\n").matcher(readme).results().count();
        assertEquals(javaBlocks, all.size(), "every ```java block is followed by its ```text output block");
        return all;
    }

    @Test
    void everyReadmeExampleCompilesRunsAndPrintsWhatTheReadmeShows(@TempDir Path dir) throws Exception {
        List<Example> examples = examples();
        assertTrue(examples.size() >= 3, "the README shows at least the layer, functional and folding examples");
        Path src = Files.createDirectories(dir.resolve("src"));
        Path out = Files.createDirectories(dir.resolve("classes"));
        List<String> args = new ArrayList<>(List.of("--add-modules", "jdk.incubator.vector", "-proc:none",
                "-cp", System.getProperty("java.class.path"), "-d", out.toString()));
        for (Example e : examples) {
            args.add(Files.writeString(src.resolve(e.className() + ".java"), e.source()).toString());
        }
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        ByteArrayOutputStream diagnostics = new ByteArrayOutputStream();
        int status = javac.run(null, null, diagnostics, args.toArray(String[]::new));
        assertEquals(0, status, diagnostics.toString(StandardCharsets.UTF_8));
        try (URLClassLoader loader = new URLClassLoader(new URL[] {out.toUri().toURL()},
                ReadmeExamplesTest.class.getClassLoader())) {
            for (Example e : examples) {
                ByteArrayOutputStream captured = new ByteArrayOutputStream();
                PrintStream original = System.out;
                System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
                try {
                    loader.loadClass(e.className()).getMethod("main", String[].class)
                            .invoke(null, (Object) new String[0]);
                } finally {
                    System.setOut(original);
                }
                assertEquals(e.expectedOutput().strip(), captured.toString(StandardCharsets.UTF_8).strip(),
                        e.className() + " printed something else than the README shows");
            }
        }
    }
}
