#!/bin/sh
# CPU profiles of every thread of a run (origin and, with roundtrip-trace.patch applied, its
# worker processes), summarized: sh bench/profile/cpu.sh OUTDIR [scoop-node options] script [args]
set -e
out=$1; shift
root=$(cd "$(dirname "$0")/../.." && pwd)
rm -rf "$out" && mkdir -p "$out"
SCOOP_PROFILE_DIR="$out" node --cpu-prof --cpu-prof-dir="$out" "$root/bin/scoop-node.js" "$@"
# A worker writes its profile when it exits, just after the origin: give it a moment.
sleep 1
node "$root/bench/profile/summarize.mjs" "$out" --top 25
