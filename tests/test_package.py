"""Package-level promise: importing lfpflow loads no simulator."""

from __future__ import annotations

import subprocess
import sys


def test_importing_every_module_loads_no_simulator():
    code = """
import importlib, pkgutil, sys
import lfpflow
for module in pkgutil.walk_packages(lfpflow.__path__, "lfpflow."):
    importlib.import_module(module.name)
heavy = sorted(n for n in ("nest", "neuron", "LFPy", "lfpykernels", "pynestml") if n in sys.modules)
print(",".join(heavy))
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "", f"imported at import time: {result.stdout.strip()}"
