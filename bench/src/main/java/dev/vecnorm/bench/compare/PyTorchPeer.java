package dev.vecnorm.bench.compare;

import dev.vecnorm.bench.Json;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs bench/src/main/resources/scripts/pytorch_bench.py (BatchNorm) or pytorch_family_bench.py (the other
 * suites) with Debian's python3-torch and reads its JSON: one run per CPU capability
 * (avx2, PyTorch's default here, and avx512). Allocations are kept off mmap (GLIBC_TUNABLES) so that the times
 * are kernel time, not page faults on fresh 100 MB outputs.
 */
final class PyTorchPeer {

    static final String PYTHON = "/usr/bin/python3";
    static final String TUNABLES = "glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=17179869184";

    /** ms per "shape|op|capability". */
    final Map<String, Double> millis = new HashMap<>();
    final List<String> capabilities = new ArrayList<>();
    String version = "";

    /** Runs the script if torch can be imported; prints one line and returns null if not. */
    static PyTorchPeer run(List<String> shapes, int threads, boolean quick, Path work, PrintStream log) {
        return run("pytorch_bench.py", List.of("--shapes", String.join(",", shapes)), "pytorch-", "PyTorch",
                threads, quick, work, log);
    }

    /**
     * Runs bench/src/main/resources/scripts/pytorch_family_bench.py on the family suites' cases
     * ("suite:shape[:layout]", {@link FamilyCompare.Case#key()}); its times are keyed by case.
     */
    static PyTorchPeer runFamily(List<String> cases, int threads, boolean quick, Path work, PrintStream log) {
        return run("pytorch_family_bench.py", List.of("--cases", String.join(",", cases)), "pytorch-family-",
                "PyTorch (family suites)", threads, quick, work, log);
    }

    private static PyTorchPeer run(String scriptName, List<String> what, String filePrefix, String name,
            int threads, boolean quick, Path work, PrintStream log) {
        if (!Files.isExecutable(Path.of(PYTHON)) || exec(List.of(PYTHON, "-c", "import torch"), Map.of(), 60) != 0) {
            log.println(name + ": skipped (not installed; install with: apt-get install python3-torch)");
            return null;
        }
        PyTorchPeer peer = new PyTorchPeer();
        try {
            Path script = Files.createTempFile("vecnorm-" + scriptName.replace(".py", ""), ".py");
            script.toFile().deleteOnExit();
            try (InputStream in = PyTorchPeer.class.getResourceAsStream("/scripts/" + scriptName)) {
                Files.copy(in, script, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
            for (String capability : List.of("avx2", "avx512")) {
                Path out = work.resolve(filePrefix + capability + ".json");
                List<String> cmd = new ArrayList<>(List.of(PYTHON, script.toString()));
                cmd.addAll(what);
                cmd.addAll(List.of("--threads", Integer.toString(threads), "--out", out.toString()));
                if (quick) {
                    cmd.addAll(List.of("--warmup", "2", "--reps", "3", "--min-seconds", "0.05"));
                }
                Map<String, String> env = Map.of("ATEN_CPU_CAPABILITY", capability, "GLIBC_TUNABLES", TUNABLES,
                        "OMP_NUM_THREADS", Integer.toString(threads));
                int status = exec(cmd, env, 900);
                if (status != 0) {
                    log.println(name + " " + capability + ": the script failed with status " + status);
                    continue;
                }
                peer.read(out, capability);
            }
        } catch (IOException e) {
            log.println(name + ": skipped (" + e.getMessage() + ")");
            return null;
        }
        return peer.capabilities.isEmpty() ? null : peer;
    }

    @SuppressWarnings("unchecked")
    private void read(Path json, String capability) throws IOException {
        for (Object o : (List<Object>) Json.parse(Files.readString(json))) {
            Map<String, Object> r = (Map<String, Object>) o;
            millis.put(r.get("shape") + "|" + r.get("op") + "|" + capability, ((Number) r.get("ms")).doubleValue());
            version = String.valueOf(r.get("torch"));
        }
        capabilities.add(capability);
    }

    double ms(String shape, Op op, String capability) {
        return millis.getOrDefault(shape + "|" + op.label + "|" + capability, Double.NaN);
    }

    /** The faster of the capabilities that ran (the fair peer number). */
    double best(String shape, Op op) {
        double best = Double.NaN;
        for (String cap : capabilities) {
            double ms = ms(shape, op, cap);
            if (!Double.isNaN(ms) && (Double.isNaN(best) || ms < best)) {
                best = ms;
            }
        }
        return best;
    }

    private static int exec(List<String> command, Map<String, String> env, int timeoutSeconds) {
        try {
            ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
            pb.environment().putAll(env);
            Process p = pb.start();
            byte[] output = p.getInputStream().readAllBytes();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return -1;
            }
            if (p.exitValue() != 0 && output.length > 0) {
                System.err.print(new String(output, StandardCharsets.UTF_8));
            }
            return p.exitValue();
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }
}
