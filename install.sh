#!/usr/bin/env bash
# Installs everything lfpflow needs on a fresh Debian 12 / Python 3.11 machine:
# Debian packages (compilers for nrnivmodl; cmake, GSL and libltdl headers for
# building our NESTML models against the pip NEST wheel) and the Python package
# with its test, NESTML, SLURM and inference extras (NEST 3.10, NEURON, LFPy,
# LFPykernels, Snakemake, NESTML, snakemake-executor-plugin-slurm, CPU torch,
# sbi, pycatch22, fooof from PyPI).
# As root, also SLURM and munge (slurmctld slurmd slurm-client munge), which
# tests/test_slurm.py needs to bring up a single-node cluster on localhost; set
# LFPFLOW_NO_SLURM=1 to leave them out (that test is then skipped). Nothing is
# configured or started here: the test starts and stops its own daemons.
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
need_slurm=()
if [ "${LFPFLOW_NO_SLURM:-0}" != 1 ] && command -v dpkg >/dev/null 2>&1; then
  for pkg in slurmctld slurmd slurm-client munge; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need_slurm+=("$pkg")
  done
fi
if [ ${#need_debian[@]} -gt 0 ] || [ ${#need_slurm[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq
    if [ ${#need_debian[@]} -gt 0 ]; then
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_debian[@]}"
    fi
    if [ ${#need_slurm[@]} -gt 0 ]; then
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_slurm[@]}"
    fi
  elif [ ${#need_debian[@]} -gt 0 ]; then
    echo "install.sh: please install the Debian packages: ${need_debian[*]} (sudo apt-get install ...)" >&2
    exit 1
  else
    echo "install.sh: not root, so no SLURM: tests/test_slurm.py will be skipped" \
         "(it needs root and: apt-get install ${need_slurm[*]})" >&2
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
