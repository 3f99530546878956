#!/usr/bin/env bash
# What metering costs on a machine with an NVIDIA GPU: the CPU time of `carbon-meter run` and of its NVML reader
# child per metered second, over a 20-process tree that does nothing (so every figure is the meter's own).
#
#   bash scripts/gpu-meter-cost.sh        (after `npm run build`; NODE=/path/to/node WINDOW_S=30 to change)
set -u -o pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NODE=${NODE:-node}
WINDOW_S=${WINDOW_S:-30}
HZ=$(getconf CLK_TCK)
HOME_DIR=$(mktemp -d "${TMPDIR:-/tmp}/cm-gpu-cost.XXXXXX")
cpu_ms() { # utime + stime of a pid, ms
  local f
  f=$(sed 's/^.*) //' "/proc/$1/stat") || return 1
  set -- $f
  echo $(( (${12} + ${13}) * 1000 / HZ ))
}
CARBON_METER_HOME=$HOME_DIR setsid "$NODE" "$ROOT/dist/cli.js" run --quiet --region FR -- \
  sh -c "for i in \$(seq 19); do sleep $((WINDOW_S + 20)) & done; wait" > /dev/null 2>&1 &
CLI=$!
sleep 3
READER=$(pgrep -P "$CLI" -f nvmlReader | head -1)
echo "cli pid $CLI, NVML reader pid ${READER:-none}"
c0=$(cpu_ms "$CLI"); r0=$( [ -n "$READER" ] && cpu_ms "$READER" || echo 0)
sleep "$WINDOW_S"
c1=$(cpu_ms "$CLI"); r1=$( [ -n "$READER" ] && cpu_ms "$READER" || echo 0)
kill -- -"$CLI" 2>/dev/null || kill "$CLI"
awk -v c=$((c1 - c0)) -v r=$((r1 - r0)) -v w="$WINDOW_S" 'BEGIN {
  printf "RESULT metering cost with a GPU: CLI %.2f ms/s, NVML reader %.2f ms/s, together %.2f ms of CPU per metered second (over %d s, clock ticks)\n", c / w, r / w, (c + r) / w, w }'
rm -rf "$HOME_DIR"
