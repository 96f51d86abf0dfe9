#!/usr/bin/env bash
# The network rule against the bare PyNEST script on the same network
# (issue 19 target: network rule <= 1.05 x bare), alternating, N repeats:
#   bash benchmarks/network_vs_bare.sh [N]
# Each repeat reruns only the network rule of the default run (its benchmark:
# file: the whole job, interpreter start-up, imports and spikes.h5 included),
# then the bare script, timed from the shell (interpreter start-up included).
# Run on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repeats="${1:-3}"
printf 'repeat\tnetwork_rule_s\tbare_s\tratio\n'
for i in $(seq "$repeats"); do
  snakemake --cores 2 --quiet all --forcerun network --until network results/default/network/spikes.h5 \
    > /tmp/lfpflow_network_vs_bare.log 2>&1
  rule_s=$(tail -n 1 benchmarks/default/network.tsv | cut -f1)
  start=$(date +%s.%N)
  python benchmarks/bare_pynest.py > /dev/null 2>&1
  bare_s=$(python3 -c "print($(date +%s.%N) - $start)")
  printf '%s\t%.1f\t%.1f\t%.3f\n' "$i" "$rule_s" "$bare_s" "$(python3 -c "print($rule_s / $bare_s)")"
done
