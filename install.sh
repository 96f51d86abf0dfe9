#!/usr/bin/env bash
# Installs everything lfpflow needs on a fresh Debian 12 / Python 3.11 machine:
# Debian packages (compilers for nrnivmodl; cmake, GSL and libltdl headers for
# building our NESTML models against the pip NEST wheel) and the Python package
# with its test, NESTML, SLURM and inference extras (NEST 3.10, NEURON, LFPy,
# LFPykernels, Snakemake, NESTML, snakemake-executor-plugin-slurm, CPU torch,
# sbi, pycatch22, fooof from PyPI).
# As root, also SLURM and munge, which tests/test_slurm.py needs to bring up a
# single-node cluster on localhost; set LFPFLOW_NO_SLURM=1 to leave them out (that
# test is then skipped). SLURM's commands (Debian's slurm-client, slurmctld,
# slurmd) are unpacked under $LFPFLOW_SLURM_PREFIX (/opt/lfpflow/slurm), off the
# PATH: snakemake-executor-plugin-slurm, which Snakemake imports on every call,
# runs `scontrol show config` (up to 10 s) whenever `sinfo` is on the PATH, so
# with SLURM's commands on the PATH every snakemake call would wait for a
# controller that is not running (docs/cluster.md). Their libraries, plugins
# and munge come from apt. Nothing is configured or started here: the test
# starts and stops its own daemons.
# Safe to run again: it skips what is already there.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

PYTHON="${PYTHON:-python3}"

need_debian=()
command -v g++ >/dev/null 2>&1 || need_debian+=(g++)
command -v make >/dev/null 2>&1 || need_debian+=(make)
command -v cmake >/dev/null 2>&1 || need_debian+=(cmake)
for pkg in libgsl-dev libltdl-dev; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_debian+=("$pkg")
done
is_root=0
[ "$(id -u)" -eq 0 ] && is_root=1
apt_updated=0
apt_update_once() {
  [ "$apt_updated" = 1 ] || apt-get update -qq
  apt_updated=1
}
if [ ${#need_debian[@]} -gt 0 ]; then
  if [ "$is_root" = 1 ]; then
    apt_update_once
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_debian[@]}"
  else
    echo "install.sh: please install the Debian packages: ${need_debian[*]} (sudo apt-get install ...)" >&2
    exit 1
  fi
fi

# --- SLURM for tests/test_slurm.py, off the PATH (see the header) ---
SLURM_PREFIX="${LFPFLOW_SLURM_PREFIX:-/opt/lfpflow/slurm}"
SLURM_UNPACKED=(slurm-client slurmctld slurmd)
# the first line of the slurm.conf that tests/slurm_cluster.py writes
SLURM_TEST_MARKER="# written by tests/slurm_cluster.py"

# SLURM's commands unpacked, matching the installed libraries and plugins?
slurm_unpacked_current() {
  local version
  version=$(dpkg-query -W -f='${Version}' slurm-wlm-basic-plugins 2>/dev/null) || return 1
  dpkg -s munge >/dev/null 2>&1 && [ -x "$SLURM_PREFIX/bin/sinfo" ] \
    && [ "$(cat "$SLURM_PREFIX/VERSION" 2>/dev/null)" = "$version" ]
}

# apt: what SLURM's commands need (libslurmfull.so and the plugins in
# slurm-wlm-basic-plugins, at the RUNPATH compiled into the commands; munge;
# libraries): the missing ones installed, all marked as installed by hand so that
# they stay when the commands' packages are absent. Then those packages, of the
# same version, unpacked under $SLURM_PREFIX (nothing runs: no maintainer scripts,
# no services), with bin/ holding every command (slurmctld, slurmd, slurmstepd
# without Debian's -wlm).
install_slurm_unpacked() {
  local deps missing dep version tmp deb path name
  apt_update_once
  mapfile -t deps < <(apt-cache depends --no-recommends --no-suggests --no-conflicts \
      --no-breaks --no-replaces --no-enhances "${SLURM_UNPACKED[@]}" \
    | awk '$1 == "Depends:" && $2 !~ /^</ {print $2}' \
    | grep -vxF -e slurm-client -e slurmctld -e slurmd | sort -u)
  missing=()
  for dep in "${deps[@]}"; do
    dpkg -s "$dep" >/dev/null 2>&1 || missing+=("$dep")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
  # kept when slurm-client etc. are removed (no upgrade of what is there)
  apt-mark manual "${deps[@]}" >/dev/null
  version=$(dpkg-query -W -f='${Version}' slurm-wlm-basic-plugins)
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get -o APT::Sandbox::User=root download -qq "${SLURM_UNPACKED[@]/%/=$version}")
  rm -rf "$SLURM_PREFIX"
  mkdir -p "$SLURM_PREFIX/bin"
  for deb in "$tmp"/*.deb; do
    dpkg-deb -x "$deb" "$SLURM_PREFIX"
  done
  rm -rf "$tmp"
  for path in "$SLURM_PREFIX"/usr/bin/*; do
    ln -s "../usr/bin/${path##*/}" "$SLURM_PREFIX/bin/"
  done
  for path in "$SLURM_PREFIX"/usr/sbin/*-wlm; do
    name=${path##*/}
    ln -s "../usr/sbin/$name" "$SLURM_PREFIX/bin/${name%-wlm}"
  done
  echo "$version" >"$SLURM_PREFIX/VERSION"
  echo "install.sh: SLURM $version unpacked under $SLURM_PREFIX (not on the PATH)" >&2
}

# Machines set up by an earlier install.sh have SLURM's commands from apt on the
# PATH. Remove those packages only when apt's log shows that install.sh installed
# them and no SLURM is configured here; otherwise just say what it costs.
take_system_slurm_off_path() {
  dpkg -s slurm-client >/dev/null 2>&1 || return 0
  if [ ! -e /etc/slurm/slurm.conf ] && zcat -f /var/log/apt/history.log* 2>/dev/null \
      | grep -E '^Commandline: apt-get install -y -qq --no-install-recommends( (slurmctld|slurmd|slurm-client|munge))+$' \
      | grep -qw slurm-client; then
    echo "install.sh: removing slurm-client slurmctld slurmd (an earlier install.sh" \
         "put SLURM's commands on the PATH; now under $SLURM_PREFIX)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq slurmctld slurmd slurm-client
  else
    echo "install.sh: note: SLURM's commands are on the PATH (Debian's slurm-client):" \
         "snakemake-executor-plugin-slurm asks SLURM's controller for its configuration" \
         "on every snakemake call (up to 10 s when it cannot be reached; docs/cluster.md)" >&2
  fi
}

if [ "${LFPFLOW_NO_SLURM:-0}" != 1 ] && command -v dpkg >/dev/null 2>&1; then
  if [ "$is_root" = 1 ]; then
    # a live link to the slurm.conf of a test cluster (an older tests/slurm_cluster.py
    # made one, and a killed run left it): every SLURM command would wait for it
    if [ -L /etc/slurm/slurm.conf ] \
        && head -n 1 /etc/slurm/slurm.conf 2>/dev/null | grep -qxF "$SLURM_TEST_MARKER"; then
      rm -f /etc/slurm/slurm.conf
    fi
    slurm_unpacked_current || install_slurm_unpacked
    take_system_slurm_off_path
  elif ! slurm_unpacked_current; then
    echo "install.sh: not root, so no SLURM: tests/test_slurm.py will be skipped" \
         "(run ./install.sh as root to unpack SLURM under $SLURM_PREFIX)" >&2
  fi
fi

# the pinned plugin version of pyproject.toml's "slurm" extra, installed?
slurm_plugin_current() {
  "$PYTHON" - <<'PY'
import importlib.metadata, tomllib
pins = tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["slurm"]
for pin in pins:
    name, version = pin.split("==")
    assert importlib.metadata.version(name) == version, pin
PY
}

if ! "$PYTHON" -c "import lfpflow, nest, neuron, LFPy, lfpykernels, snakemake, pytest, pynestml, boost_headers, torch, sbi, pycatch22, fooof" >/dev/null 2>&1 \
   || ! slurm_plugin_current >/dev/null 2>&1 \
   || [ "$("$PYTHON" -c 'import lfpflow, pathlib; print(pathlib.Path(lfpflow.__file__).resolve().parents[2])' 2>/dev/null)" != "$(pwd -P)" ]; then
  "$PYTHON" -m pip install --quiet --disable-pip-version-check -e ".[test,nestml,slurm,inference]"
fi
