#!/usr/bin/env bash
# Installs everything lfpflow needs on a fresh Debian 12 / Python 3.11 machine:
# Debian packages (compilers for nrnivmodl; cmake, GSL and libltdl headers for
# building our NESTML models against the pip NEST wheel) and the Python package
# with its test and NESTML extras (NEST 3.10, NEURON, LFPy, LFPykernels,
# Snakemake, NESTML from PyPI).
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
if [ ${#need_debian[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_debian[@]}"
  else
    echo "install.sh: please install the Debian packages: ${need_debian[*]} (sudo apt-get install ...)" >&2
    exit 1
  fi
fi

if ! "$PYTHON" -c "import lfpflow, nest, neuron, LFPy, lfpykernels, snakemake, pytest, pynestml, boost_headers" >/dev/null 2>&1 \
   || [ "$("$PYTHON" -c 'import lfpflow, pathlib; print(pathlib.Path(lfpflow.__file__).resolve().parents[2])' 2>/dev/null)" != "$(pwd -P)" ]; then
  "$PYTHON" -m pip install --quiet --disable-pip-version-check -e ".[test,nestml]"
fi
