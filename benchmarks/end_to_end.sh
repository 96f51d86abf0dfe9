#!/usr/bin/env bash
# End-to-end wall time of the default run against a bare PyNEST script that
# builds and simulates the same network for the same duration (issue target:
# workflow <= 2.0 x bare). Run on an otherwise idle machine:
#   bash benchmarks/end_to_end.sh
# Prints: the workflow's wall time from scratch (results and compiled
# mechanisms removed), the bare script's wall time measured right after, their
# ratio, each rule's seconds and max RSS from its benchmark: file, and the
# network rule's seconds (its benchmark: file: the whole job, interpreter
# start-up and spikes.h5 included) over the bare script's wall time.
# Targets (issue 19): end to end <= 1.3 x bare, network rule <= 1.05 x bare.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
rm -rf results/default benchmarks/default build/mechanisms benchmarks/build

start=$(date +%s.%N)
snakemake --cores 2 --quiet all > /tmp/lfpflow_end_to_end.log 2>&1
workflow_s=$(python3 -c "print($(date +%s.%N) - $start)")

start=$(date +%s.%N)
python benchmarks/bare_pynest.py
bare_s=$(python3 -c "print($(date +%s.%N) - $start)")

printf '\nrule\ts\tmax_rss_MB\n'
for f in benchmarks/build/compile_mechanisms.tsv benchmarks/default/*.tsv; do
  printf '%s\t%s\n' "$(basename "$f" .tsv)" "$(tail -n 1 "$f" | cut -f1,3)"
done
network_s=$(tail -n 1 benchmarks/default/network.tsv | cut -f1)
printf '\nworkflow end to end: %.1f s\nbare PyNEST:         %.1f s\nratio:               %.2f\n' \
  "$workflow_s" "$bare_s" "$(python3 -c "print($workflow_s / $bare_s)")"
printf 'network rule:        %.1f s\nnetwork / bare:      %.2f\n' \
  "$network_s" "$(python3 -c "print($network_s / $bare_s)")"
