# Sourced by the benchmark scripts: wait_idle MINUTES waits, at most that long, until the 1-minute load
# average is under 0.3, so that a benchmark does not measure other jobs (0 returns at once).
wait_idle() {
  local deadline=$(( $(date +%s) + 60 * $1 ))
  while [[ "$1" -gt 0 ]] && awk '{ exit !($1 >= 0.3) }' /proc/loadavg && [[ $(date +%s) -lt $deadline ]]; do
    echo "== waiting for an idle machine, load $(cut -d' ' -f1-3 /proc/loadavg)"
    sleep 20
  done
}
