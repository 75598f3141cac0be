package dev.vecnorm.spark;

import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;

/**
 * One Spark session for the test JVM (Spark allows one context per JVM), restarted only when a test asks for
 * another master (local[1] beside local[2]).
 */
final class SparkSessions {

    private static SparkSession current;
    private static String currentMaster;

    private SparkSessions() {
    }

    static synchronized SparkSession get(String master) {
        if (current != null && master.equals(currentMaster)) {
            return current;
        }
        if (current != null) {
            current.stop();
        }
        current = SparkSession.builder()
                .master(master)
                .appName("vecnorm-spark-test")
                .config("spark.ui.enabled", "false")
                .config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1")
                .config("spark.sql.shuffle.partitions", "2")
                .getOrCreate();
        current.sparkContext().setLogLevel("WARN");
        currentMaster = master;
        return current;
    }

    static SparkSession local2() {
        return get("local[2]");
    }

    static JavaSparkContext context(SparkSession session) {
        return JavaSparkContext.fromSparkContext(session.sparkContext());
    }
}
