package dev.vecnorm.internal.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.lang.reflect.Method;
import java.net.URISyntaxException;
import java.net.URL;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import jdk.incubator.vector.Vector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * No method of the kernels takes or returns a vector. C2 stops inlining a caller's callees once the caller's graph
 * passes its node cutoff, except the Vector API's own methods (force-inlined, late if need be); a helper of ours
 * with a vector argument or result that misses the cutoff is then a real call, and every vector crossing it is
 * boxed on the heap. That happened with {@code widen} and {@code narrow} inside {@code GradientRuns.inputRun}
 * once C2 had inlined it into GroupNorm's backward (5.8 MB allocated per call at 128 bits, in some JVMs only,
 * depending on what had been compiled first), and in some compilations of {@code addTwoRuns}. Kernels call the
 * Vector API directly instead, so what C2 cannot inline is never on a vector's path. Masks and shuffles are boxed
 * the same way, and a species passed as an argument is not a constant in a method compiled on its own, where the
 * Vector API's intrinsics then refuse to compile: none of them crosses a call either (species are the constants of
 * {@link Lanes}).
 */
@Tag("width-independent")
class NoVectorCrossesACallTest {

    @Test
    void noKernelMethodTakesOrReturnsAVectorOrMask() throws URISyntaxException, ClassNotFoundException {
        List<Class<?>> classes = kernelClasses();
        assertTrue(classes.size() >= 10, "found only " + classes + " in the kernels package");
        List<String> offenders = new ArrayList<>();
        for (Class<?> type : classes) {
            for (Method method : type.getDeclaredMethods()) {
                boolean vectorResult = boxedOnACall(method.getReturnType());
                boolean vectorArgument = Arrays.stream(method.getParameterTypes())
                        .anyMatch(t -> boxedOnACall(t) || VectorSpecies.class.isAssignableFrom(t));
                if (vectorResult || vectorArgument) {
                    offenders.add(type.getSimpleName() + "." + method.getName());
                }
            }
        }
        assertEquals(List.of(), offenders,
                "kernel methods with a vector, mask or shuffle argument or result, or a species argument");
    }

    private static boolean boxedOnACall(Class<?> type) {
        return Vector.class.isAssignableFrom(type) || VectorMask.class.isAssignableFrom(type)
                || VectorShuffle.class.isAssignableFrom(type);
    }

    /** Every class compiled into this package (nested ones too), read from the class directory. */
    private static List<Class<?>> kernelClasses() throws URISyntaxException, ClassNotFoundException {
        String pkg = Lanes.class.getPackageName();
        URL dir = Lanes.class.getResource("Lanes.class");
        File[] files = new File(dir.toURI()).getParentFile().listFiles((d, name) -> name.endsWith(".class"));
        List<Class<?>> classes = new ArrayList<>();
        for (File f : files) {
            String simple = f.getName().substring(0, f.getName().length() - ".class".length());
            classes.add(Class.forName(pkg + "." + simple, false, Lanes.class.getClassLoader()));
        }
        return classes;
    }
}
