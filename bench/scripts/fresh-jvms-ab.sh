#!/usr/bin/env bash
# A/B of two engine jars across fresh JVMs, for differences that one JVM's memory placement can hide or fake:
# where the JVM puts the tensors and the kernels' scratch relative to each other (and which physical pages back
# them) moved DRAM-bound passes by up to 30% between two JVMs running the same jar on this project's test host.
# Each JVM runs SameJvmAB with the same jar in both class loaders (40 rounds of 10 calls each, alternating) and
# contributes its best ms; the jars alternate JVM by JVM. Prints each jar's per-JVM bests and their min and median.
#
#   bench/scripts/fresh-jvms-ab.sh A.jar B.jar CASE SHAPE [JVMS per jar, default 3] [extra JVM options...]
#   (CASE and SHAPE as for SameJvmAB.java; build the jars first, and run nothing else meanwhile)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
[ $# -ge 4 ] || { sed -n 2,9p "$0" | sed 's/^# \{0,1\}//'; exit 2; }
a=$1 b=$2 kase=$3 shape=$4 jvms=${5:-3}
shift $(( $# >= 5 ? 5 : 4 ))
declare -A best
for ((r = 0; r < jvms; r++)); do
  for jar in "$a" "$b"; do
    line=$("$here/vecnorm" java "$@" "$here/bench/scripts/SameJvmAB.java" "$jar" "$jar" "$kase" "$shape")
    # "CASE SHAPE  A best X median Y | B best Z median W  (...)": this JVM's figure is min(X, Z).
    value=$(awk '{a = $5 + 0; b = $11 + 0; print (a < b ? a : b)}' <<< "$line")
    best[$jar]="${best[$jar]:-} $value"
  done
done
for jar in "$a" "$b"; do
  sorted=$(tr ' ' '\n' <<< "${best[$jar]}" | grep . | sort -g | tr '\n' ' ')
  awk -v jar="$jar" -v kase="$kase $shape" '{n = split($0, v, " "); printf "%s %s: per-JVM best ms %s| min %s median %s\n", kase, jar, $0, v[1], v[int((n + 1) / 2)]}' <<< "$sorted"
done
