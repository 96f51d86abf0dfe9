"""Import cost of every rule script: what each workflow/scripts/*.py imports, timed.

Usage::

    python benchmarks/script_imports.py [--repeats 3]

For each rule script, its module-level ``import``/``from ... import`` lines are
run in a fresh interpreter under ``python -X importtime`` (the script's own
work, which needs Snakemake's ``snakemake`` object, is not run). Prints, per
script, the best wall time of the imports over the repeats (ms), the time
spent in lfpflow's own modules (self time, ms), and the lfpflow modules
loaded, so that a script importing more than it uses shows up. Run on an idle
machine.
"""

from __future__ import annotations

import argparse
import ast
import subprocess
import sys
import time
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[1] / "workflow" / "scripts"


def import_lines(path: Path) -> str:
    """The module-level import statements of a script, as source."""
    tree = ast.parse(path.read_text())
    nodes = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    return "\n".join(ast.unparse(n) for n in nodes if getattr(n, "module", "") != "__future__")


def measure(source: str) -> tuple[float, float, list[str]]:
    """Wall time (ms), lfpflow self time (ms) and lfpflow modules of running ``source``."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", source],
        capture_output=True,
        text=True,
        check=True,
    )
    wall_ms = 1e3 * (time.perf_counter() - started)
    own_us, modules = 0, []
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        self_us, _, name = (part.strip() for part in line[len("import time:") :].split("|"))
        if name.startswith("lfpflow"):
            own_us += int(self_us)
            modules.append(name)
    return wall_ms, own_us / 1e3, modules


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"{'script':28s} {'imports ms':>10s} {'lfpflow ms':>10s}  lfpflow modules")
    for path in sorted(SCRIPTS.glob("*.py")):
        source = import_lines(path)
        runs = [measure(source) for _ in range(args.repeats)]
        wall, own, modules = min(runs, key=lambda run: run[0])
        print(f"{path.stem:28s} {wall:10.0f} {own:10.1f}  {', '.join(sorted(modules))}")


if __name__ == "__main__":
    main()
