# Sourced by ./renal-mtl, ./run-tests and .ci/run: exports JAVA_HOME pointing at a JDK 25 or newer
# (JAVA_HOME if it is one, else the first /usr/lib/jvm/*25* or newer), and quiets Maven on JDK 25.
jdk_major() { "$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/ *java.specification.version = //p'; }
if [[ -z "${JAVA_HOME:-}" || ! -x "$JAVA_HOME/bin/java" || "$(jdk_major "$JAVA_HOME")" -lt 25 ]]; then
  JAVA_HOME=""
  for d in /usr/lib/jvm/*25* /usr/lib/jvm/*2[6-9]* /usr/lib/jvm/*; do
    if [[ -x "$d/bin/javac" && "$(jdk_major "$d")" -ge 25 ]]; then JAVA_HOME="$d"; break; fi
  done
  if [[ -z "$JAVA_HOME" ]]; then
    echo "renal-mtl: needs a JDK 25 or newer (set JAVA_HOME, or install one under /usr/lib/jvm)" >&2
    exit 1
  fi
fi
export JAVA_HOME
# Maven 3.8's own Guava calls sun.misc.Unsafe, which JDK 25 warns about on every run.
export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"
