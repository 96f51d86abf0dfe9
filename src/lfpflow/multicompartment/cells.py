"""NEURON set-up shared by the kernels and the ground truth: mechanisms and cells.

Compiles and loads our NMODL mechanisms (``mod/``), defines the cell template
the morphology files are instantiated in, and builds the LFPy cell parameters
of a population's multicompartment cell. NEURON is imported inside functions
only, so importing this module loads no simulator.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lfpflow.io import atomic_directory

log = logging.getLogger(__name__)

#: NMODL mechanisms that ``mod/`` must provide: our current synapse and the
#: name under which ``KernelApprox`` looks for a linearised ``Exp2Syn``.
REQUIRED_MECHANISMS = ("CurrExp2Syn", "Exp2SynI")

#: Name of the NEURON cell template the morphology files are loaded into.
CELL_TEMPLATE_NAME = "LfpflowBallAndSticks"

# The morphology files hold geometry only; LFPy.TemplateCell needs a template
# to instantiate them in. It declares the section names the files create and
# the `all` list they append to. Its name must not contain "soma", "dend" or
# "apic": LFPy selects sections by substring of their full names.
_CELL_TEMPLATE_HOC = f"""
begintemplate {CELL_TEMPLATE_NAME}
public soma, dend, apic, all
objref all
create soma, dend, apic
proc init() {{ all = new SectionList() }}
endtemplate {CELL_TEMPLATE_NAME}
"""

# Folder whose mechanisms this process has loaded (NEURON cannot load twice).
_LOADED_MECHANISMS_DIR: Path | None = None


# --------------------------------------------------------------------------
# compiling and loading NMODL mechanisms
# --------------------------------------------------------------------------


def compile_mechanisms(mod_dir: Path, build_dir: Path) -> Path:
    """Compile the NMODL files of ``mod_dir`` with ``nrnivmodl``.

    The ``.mod`` files are copied to a temporary folder beside ``build_dir``,
    compiled there and the folder is renamed to ``build_dir`` only when the
    mechanism library exists, so an interrupted build never leaves a
    ``build_dir`` that looks complete. An existing ``build_dir`` is replaced.

    Parameters
    ----------
    mod_dir : Path
        Folder with the ``*.mod`` files (lfpflow's ``mod/``).
    build_dir : Path
        Destination folder; afterwards it holds the ``.mod`` copies and the
        architecture folder (e.g. ``x86_64/``) with ``libnrnmech``.

    Returns
    -------
    Path
        ``build_dir``, ready for :func:`load_mechanisms`.

    Raises
    ------
    FileNotFoundError
        If ``mod_dir`` has no ``.mod`` file or ``nrnivmodl`` is not on PATH.
    RuntimeError
        If ``nrnivmodl`` fails (its stderr and the end of its stdout are in the
        message) or builds no library.
    """
    mod_dir = Path(mod_dir)
    build_dir = Path(build_dir)
    mod_files = sorted(mod_dir.glob("*.mod"))
    if not mod_files:
        raise FileNotFoundError(f"no .mod files in {mod_dir}")
    nrnivmodl = shutil.which("nrnivmodl")
    if nrnivmodl is None:
        raise FileNotFoundError("nrnivmodl not found on PATH (it is installed with NEURON)")

    with atomic_directory(build_dir) as staging:
        for mod_file in mod_files:
            shutil.copy2(mod_file, staging / mod_file.name)
        log.info("compiling %d mechanisms in %s", len(mod_files), staging)
        result = subprocess.run(
            [nrnivmodl], cwd=staging, capture_output=True, text=True, check=False
        )
        log.debug("nrnivmodl stdout:\n%s", result.stdout)
        if result.returncode != 0:
            stdout_tail = "\n".join(result.stdout.splitlines()[-30:])
            raise RuntimeError(
                f"nrnivmodl failed with exit code {result.returncode} for {mod_dir}.\n"
                f"stderr:\n{result.stderr}\nstdout (end):\n{stdout_tail}"
            )
        if _mechanism_library(staging) is None:
            raise RuntimeError(f"nrnivmodl built no libnrnmech for {mod_dir}:\n{result.stderr}")
    log.info("mechanisms %s compiled into %s", [f.stem for f in mod_files], build_dir)
    return build_dir


def _mechanism_library(build_dir: Path) -> Path | None:
    """The ``libnrnmech`` that ``nrnivmodl`` built in ``build_dir``, if any."""
    candidates = sorted(build_dir.glob("*/libnrnmech.*")) + sorted(
        build_dir.glob("*/.libs/libnrnmech.*")
    )
    return candidates[0] if candidates else None


def load_mechanisms(mechanisms_dir: Path) -> None:
    """Load compiled mechanisms into this process's NEURON, at most once.

    Parameters
    ----------
    mechanisms_dir : Path
        A folder made by :func:`compile_mechanisms`.

    Raises
    ------
    RuntimeError
        If another mechanisms folder was loaded in this process before (NEURON
        cannot load a second library defining the same mechanisms), or the
        library lacks one of :data:`REQUIRED_MECHANISMS`.
    FileNotFoundError
        If ``mechanisms_dir`` holds no compiled library.
    """
    global _LOADED_MECHANISMS_DIR
    import neuron

    resolved = Path(mechanisms_dir).resolve()
    if _LOADED_MECHANISMS_DIR is not None:
        if resolved == _LOADED_MECHANISMS_DIR:
            return
        raise RuntimeError(
            f"NEURON mechanisms were already loaded from {_LOADED_MECHANISMS_DIR} in this "
            f"process; loading {resolved} as well would define them twice. Use a new process."
        )
    if all(hasattr(neuron.h, name) for name in REQUIRED_MECHANISMS):
        # Loaded by someone else (e.g. a test harness); loading again would fail.
        log.warning(
            "mechanisms %s already present in NEURON; not loading %s", REQUIRED_MECHANISMS, resolved
        )
    elif _mechanism_library(resolved) is None or not neuron.load_mechanisms(
        str(resolved), warn_if_already_loaded=False
    ):
        raise FileNotFoundError(
            f"no compiled NEURON mechanisms in {resolved}; run compile_mechanisms first"
        )
    missing = [name for name in REQUIRED_MECHANISMS if not hasattr(neuron.h, name)]
    if missing:
        raise RuntimeError(f"mechanisms {missing} not found after loading {resolved}")
    _LOADED_MECHANISMS_DIR = resolved


def define_cell_template() -> None:
    """Define the NEURON template morphologies are loaded into (once per process).

    Used by the kernels and by the ground-truth network (lfpflow.multicompartment.groundtruth),
    so both routes build their cells from the same template.
    """
    import neuron

    if not hasattr(neuron.h, CELL_TEMPLATE_NAME):
        neuron.h(_CELL_TEMPLATE_HOC)


# kept for code written against the earlier private name
_define_cell_template = define_cell_template


# --------------------------------------------------------------------------
# configuration -> KernelApprox arguments
# --------------------------------------------------------------------------


def cell_parameters(
    kernel_config: Mapping[str, Any],
    name: str,
    morphology_dir: str | Path,
    *,
    celsius_degC: float | None = None,
) -> dict[str, Any]:
    """LFPy ``TemplateCell`` parameters of population ``name``'s passive cell.

    Parameters
    ----------
    kernel_config : Mapping
        The kernel description (:func:`lfpflow.config.kernel_description`):
        ``populations[name].morphology`` and the passive ``cell`` properties.
    name : str
        Population.
    morphology_dir : path-like
        Folder of the morphology files.
    celsius_degC : float, optional
        Temperature (degrees C); default ``kernel_config["cell"]["celsius_degC"]``.

    Returns
    -------
    dict
        Keyword arguments of ``LFPy.TemplateCell`` (without ``dt``/``tstart``/``tstop``).
    """
    cell = kernel_config["cell"]
    vrest = float(cell["Vrest_mV"])
    morphology = Path(morphology_dir) / kernel_config["populations"][name]["morphology"]
    return {
        "morphology": str(morphology),
        "templatefile": None,  # the template is defined in-process (define_cell_template)
        "templatename": CELL_TEMPLATE_NAME,
        "templateargs": None,
        "v_init": vrest,
        "Ra": float(cell["Ra_ohm_cm"]),
        "cm": float(cell["cm_uF_per_cm2"]),
        "passive": True,
        "passive_parameters": {"g_pas": float(cell["g_pas_S_per_cm2"]), "e_pas": vrest},
        "celsius": float(cell["celsius_degC"] if celsius_degC is None else celsius_degC),
        # d_lambda rule at 100 Hz: segments of at most ~40 um for our cells,
        # well below the 100 um CSD slabs and the 75 um soma-depth spread.
        "nsegs_method": "lambda100",
    }
