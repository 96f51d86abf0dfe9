#!/usr/bin/env bash
# Start-up cost of a snakemake call: `snakemake -n --forceall` (a dry run of the
# default workflow: parse, build the DAG, run nothing) and, within it, the import of
# snakemake-executor-plugin-slurm, which Snakemake imports on every call (to offer
# its command-line options) and which, whenever `sinfo` is on the PATH, asks SLURM's
# controller for its configuration (`scontrol show config`, 10 s timeout).
#   bash benchmarks/startup.sh [repeats]        # default 3 repeats per scenario
# Scenarios (each prints whether sinfo is on the PATH, then seconds per repeat):
#   as is            this machine's PATH and SLURM configuration
#   controller down  SLURM_CONF = a slurm.conf whose controller is not running (a
#                    killed test cluster, a cluster out of reach): scontrol retries 9 s
#   DNS silent       (root only) no slurm.conf and a DNS server that never answers:
#                    SLURM's configless lookup of _slurmctld._tcp waits 2 x 5 s
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repeats=${1:-3}
work=$(mktemp -d)
sink_pid=
cleanup() {
  [ -z "$sink_pid" ] || kill "$sink_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

seconds() {  # wall time of a command, output discarded
  local start
  start=$(date +%s.%N)
  "$@" >/dev/null 2>&1 || true
  python3 -c "print(f'{$(date +%s.%N) - $start:.2f}')"
}

scenario() {  # name, then a command prefix (e.g. env VAR=...) for both measurements
  local name=$1 i import dry
  shift
  import=() dry=()
  for ((i = 0; i < repeats; i++)); do
    import+=("$(seconds "$@" python3 -c 'import snakemake_executor_plugin_slurm')")
    dry+=("$(seconds "$@" snakemake -n --forceall)")
  done
  printf '%-16s sinfo on PATH: %-20s plugin import: %-18s snakemake -n --forceall: %s\n' \
    "$name" "$("$@" sh -c 'command -v sinfo || echo no')" "${import[*]} s" "${dry[*]} s"
}

scenario "as is" env

port=$(python3 -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
cat >"$work/slurm.conf" <<EOF
ClusterName=nobody
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$port
NodeName=localhost NodeAddr=127.0.0.1 CPUs=1
PartitionName=debug Nodes=localhost Default=YES
EOF
scenario "controller down" env SLURM_CONF="$work/slurm.conf"

if [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null 2>&1; then
  # a DNS server on 127.0.0.2:53 that reads queries and never answers, seen only by
  # the commands below (their own mount namespace with their own resolv.conf)
  python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('127.0.0.2', 53))
while True:
    s.recvfrom(4096)
" &
  sink_pid=$!
  echo "nameserver 127.0.0.2" >"$work/resolv.conf"
  cat >"$work/silent-dns" <<EOF
#!/bin/sh
mount --bind "$work/resolv.conf" /etc/resolv.conf && exec env -u SLURM_CONF "\$@"
EOF
  chmod +x "$work/silent-dns"
  scenario "DNS silent" unshare -m "$work/silent-dns"
fi
