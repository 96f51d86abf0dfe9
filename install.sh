#!/usr/bin/env bash
# Installs everything lfpflow needs on a fresh Debian 12 / Python 3.11 machine:
# Debian packages (compilers for nrnivmodl) and the Python package with its
# test extras (NEST 3.10, NEURON, LFPy, LFPykernels, Snakemake from PyPI).
# Safe to run again: it skips what is already there.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

PYTHON="${PYTHON:-python3}"

need_debian=()
command -v g++ >/dev/null 2>&1 || need_debian+=(g++)
command -v make >/dev/null 2>&1 || need_debian+=(make)
if [ ${#need_debian[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_debian[@]}"
  else
    echo "install.sh: please install the Debian packages: ${need_debian[*]} (sudo apt-get install ...)" >&2
    exit 1
  fi
fi

if ! "$PYTHON" -c "import lfpflow, nest, neuron, LFPy, lfpykernels, snakemake, pytest" >/dev/null 2>&1 \
   || [ "$("$PYTHON" -c 'import lfpflow, pathlib; print(pathlib.Path(lfpflow.__file__).resolve().parents[2])' 2>/dev/null)" != "$(pwd -P)" ]; then
  "$PYTHON" -m pip install --quiet --disable-pip-version-check -e ".[test]"
fi
