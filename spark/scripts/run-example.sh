#!/usr/bin/env bash
# Runs a class of the spark module on JDK 25 with Spark's JVM options, e.g.
#   spark/scripts/run-example.sh dev.vecnorm.spark.example.FashionMnist stats
#   spark/scripts/run-example.sh dev.vecnorm.spark.example.FashionMnist bench
# Builds the engine and spark module (offline once the dependencies are downloaded) and their class path first.
set -euo pipefail
cd "$(dirname "$0")/../.."
JAVA="${JAVA:-/usr/lib/jvm/temurin-25-jdk-amd64/bin/java}"
mvn -B -o -q -pl spark -am compile dependency:build-classpath -Dmdep.outputFile=target/classpath.txt \
    -Dmdep.includeScope=provided
# The options of Spark's launcher (org.apache.spark.launcher.JavaModuleOptions), which spark-submit adds itself.
OPTS=(-XX:+IgnoreUnrecognizedVMOptions --add-modules=jdk.incubator.vector
  --add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.lang.invoke=ALL-UNNAMED
  --add-opens=java.base/java.lang.reflect=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED
  --add-opens=java.base/java.net=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED
  --add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.util.concurrent=ALL-UNNAMED
  --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED --add-opens=java.base/jdk.internal.ref=ALL-UNNAMED
  --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/sun.nio.cs=ALL-UNNAMED
  --add-opens=java.base/sun.util.calendar=ALL-UNNAMED
  --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow
  -Dio.netty.tryReflectionSetAccessible=true)
export SPARK_LOCAL_IP="${SPARK_LOCAL_IP:-127.0.0.1}"
exec "$JAVA" "${OPTS[@]}" -Xmx${HEAP:-8g} -Dlog4j2.level=warn \
  -cp "spark/target/classes:engine/target/classes:$(cat spark/target/classpath.txt)" "$@"
