#!/usr/bin/env bash
# Builds a minimal Java 25 runtime with jlink (default <repo>/.jre, git-ignored), so that a GPU host
# without a JDK can run the Java engine's GPU tests and benchmark. make-bundle.sh calls it and packs
# the runtime into the carried archive (benchmarks/gpu/README.md).
#
#   benchmarks/gpu/make-jre.sh [--jdk DIR] [--out DIR] [--add-modules m1,m2] [--no-strip] [--uncompressed]
#
# Modules (checked with jdeps against the jars the engine uses, see README.md):
#   java.base        everything
#   jdk.unsupported  sun.misc.Unsafe, used by JavaCPP
#   java.logging     JavaCPP's Logger fallback, JUnit Platform
#   java.management  JavaCPP (memory limits), ENGINEERING.md section 5
#   jdk.management   com.sun.management.OperatingSystemMXBean, which the cli (run.sh's segment step) reads
#   jdk.zipfs        the "jar" file system JUnit scans test jars with (without it: no tests found)
# Not included: java.desktop (jackson-databind's java.beans use is optional and guarded), java.sql
# (jackson's java.sql handlers likewise), java.xml (only JUnit's XML reports need it, 4 MiB: run.sh
# then prints the test tree in the log instead; --add-modules java.xml brings them back).
# The shared libraries are stripped of their symbol tables (strip --strip-unneeded, 4 MiB less;
# --no-strip keeps them): crash reports then show addresses instead of HotSpot function names.
# Result: about 38 MiB. --uncompressed links the modules file without zip compression (53 MiB): that is
# what make-bundle.sh packs, since xz then shrinks the runtime to 12 MiB instead of 19.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
jdk="${JDK25:-/usr/lib/jvm/temurin-25-jdk-amd64}"
out="$repo/.jre"
modules="java.base,jdk.unsupported,java.logging,java.management,jdk.management,jdk.zipfs"
strip=1
compress=zip-9
while [[ $# -gt 0 ]]; do
    case "$1" in
        --jdk) jdk="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --add-modules) modules="$modules,$2"; shift 2 ;;
        --no-strip) strip=0; shift ;;
        --uncompressed) compress=zip-0; shift ;;
        *) echo "make-jre.sh: error: unknown argument $1" >&2; exit 2 ;;
    esac
done
[[ -x "$jdk/bin/jlink" ]] || { echo "make-jre.sh: error: $jdk/bin/jlink not found (a JDK 25 is needed; set --jdk)" >&2; exit 2; }
version="$("$jdk/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
[[ "$version" == "25" ]] || echo "make-jre.sh: warning: $jdk is Java $version, the project targets 25" >&2

# Build next to the target and swap in atomically: a failed jlink leaves the old runtime intact.
tmp="$(mktemp -d "$(dirname "$out")/.jre.tmp.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
"$jdk/bin/jlink" --add-modules "$modules" --strip-debug --no-header-files --no-man-pages \
    --compress="$compress" --output "$tmp/jre"
if [[ "$strip" == 1 ]]; then
    command -v strip >/dev/null || { echo "make-jre.sh: error: strip not found (binutils), or pass --no-strip" >&2; exit 2; }
    find "$tmp/jre" -name '*.so' -exec strip --strip-unneeded {} +
fi
"$tmp/jre/bin/java" -version 2>&1 | head -1
rm -rf "$out.old"
[[ -e "$out" ]] && mv "$out" "$out.old"
mv "$tmp/jre" "$out"
rm -rf "$out.old"
echo "make-jre.sh: wrote $out ($(du -sm "$out" | cut -f1) MiB; modules $modules)"
