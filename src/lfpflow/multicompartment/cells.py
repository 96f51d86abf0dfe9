"""NEURON set-up shared by the kernels and the ground truth: mechanisms and cells.

Compiles and loads our NMODL mechanisms (``mod/``), defines the cell template
the morphology files are instantiated in, and builds the LFPy cell parameters
of a population's multicompartment cell. NEURON is imported inside functions
only, so importing this module loads no simulator.
"""

from __future__ import annotations

import atexit
import logging
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lfpflow.io import atomic_directory
from lfpflow.multicompartment.morphology import read_morphology

log = logging.getLogger(__name__)

#: The synapses ``mod/`` provides: our current synapse and the name under
#: which ``KernelApprox`` looks for a linearised ``Exp2Syn``.
SYNAPSE_MECHANISMS = ("CurrExp2Syn", "Exp2SynI")

#: NMODL mechanisms that ``mod/`` must provide: the synapses and the constant
#: current of the ground truth's in-degree compensation (``groundtruth.k_scale``).
REQUIRED_MECHANISMS = (*SYNAPSE_MECHANISMS, "ConstantCurrent")

#: Name prefix of the NEURON cell templates the morphology files are loaded
#: into; :func:`cell_template_name` appends a code for the section names. It
#: must not contain "soma", "dend", "apic" or "axon": LFPy selects sections by
#: substring of their full names (``LfpflowCell_BPS[3].dend[0]``).
CELL_TEMPLATE_NAME = "LfpflowCell"

#: One letter per section name, for template names free of those names.
_SECTION_CODES = {"soma": "S", "dend": "B", "apic": "P", "axon": "X"}

# The morphology files hold geometry only; LFPy.TemplateCell needs a template
# to instantiate them in. hoc accepts a section name in an instance only if
# the template declares it, and a declared name the file does not create
# would stay a stray section (NEURON's Import3d even lists it in `all`), so
# each set of section names gets its own template declaring exactly those;
# a file re-creates them with its own sizes. Import3d (swc, asc) fills `all`
# and the subset lists; our template-style hoc files append to `all`
# themselves; plain hoc files append nothing, and collect_sections() (run
# after them, see _hoc_loader) gathers every section of the instance.
_CELL_TEMPLATE_HOC = """
begintemplate {name}
public {sections}, all, somatic, basal, apical, axonal, collect_sections
objref all, somatic, basal, apical, axonal
create {created}
proc init() {{
    all = new SectionList()
    somatic = new SectionList()
    basal = new SectionList()
    apical = new SectionList()
    axonal = new SectionList()
}}
proc collect_sections() {{ local n
    n = 0
    forsec all {{ n += 1 }}
    if (n == 0) {{ forall {{ all.append() }} }}
}}
endtemplate {name}
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


def cell_template_name(sections: tuple[str, ...] | list[str]) -> str:
    """Template name for cells with these section names (``morphology.SECTION_NAMES``)."""
    unknown = sorted(set(sections) - set(_SECTION_CODES))
    if unknown:
        raise ValueError(
            f"section names {unknown} not supported; allowed values: {', '.join(_SECTION_CODES)}"
        )
    return f"{CELL_TEMPLATE_NAME}_" + "".join(sorted(_SECTION_CODES[s] for s in set(sections)))


def define_cell_template(sections: tuple[str, ...] | list[str] = ("soma", "dend", "apic")) -> str:
    """Define the NEURON template for cells with these sections (once per process).

    Used by the kernels and by the ground-truth network (lfpflow.multicompartment.groundtruth),
    so both routes build their cells from the same templates.

    Parameters
    ----------
    sections : sequence of str
        Section names the morphology creates (:func:`read_morphology`).

    Returns
    -------
    str
        The template's name (:func:`cell_template_name`).
    """
    import neuron

    name = cell_template_name(sections)
    if not hasattr(neuron.h, name):
        ordered = [s for s in _SECTION_CODES if s in set(sections)]
        neuron.h(
            _CELL_TEMPLATE_HOC.format(
                name=name,
                sections=", ".join(ordered),
                created=", ".join(f"{s}[1]" for s in ordered),
            )
        )
    return name


# kept for code written against the earlier private name
_define_cell_template = define_cell_template


def _hoc_loader(morphology: Path) -> Path:
    """A hoc file that loads ``morphology`` and then collects its sections.

    LFPy's ``TemplateCell`` runs ``xopen(morphology)`` inside the template
    instance; this file does that and then calls the template's
    ``collect_sections()``, so that a plain hoc file (which appends nothing to
    ``all``) loads as well as one written for a template. Written once per
    file and process into a temporary folder.
    """
    import hashlib
    import tempfile

    global _LOADER_DIR
    if _LOADER_DIR is None:
        _LOADER_DIR = Path(tempfile.mkdtemp(prefix="lfpflow_morphologies_"))
        # NEURON has read a loader once the cell exists; the folder can go at exit
        atexit.register(shutil.rmtree, _LOADER_DIR, ignore_errors=True)
    source = Path(morphology).resolve()
    if '"' in str(source):
        raise ValueError(f"morphology path {source} must not contain a double quote")
    digest = hashlib.sha256(str(source).encode()).hexdigest()[:16]
    loader = _LOADER_DIR / f"{source.stem}_{digest}.hoc"
    if not loader.is_file():
        # braces: hoc would print the value of a bare statement
        loader.write_text(f'{{xopen("{source}")}}\n{{collect_sections()}}\n', encoding="utf-8")
    return loader


# Folder of this process's hoc loaders (_hoc_loader).
_LOADER_DIR: Path | None = None


def loadable_cell_parameters(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`cell_parameters` ready for ``LFPy.TemplateCell`` in this process.

    The template is the one for the file's section names (defined here, see
    :func:`define_cell_template`); a ``.hoc`` morphology is replaced by a
    loader (:func:`_hoc_loader`) that also collects the sections of plain
    hoc files; ``.swc`` and ``.asc`` go to LFPy's Import3d as they are.

    Parameters
    ----------
    parameters : Mapping
        :func:`cell_parameters`.

    Returns
    -------
    dict
        A copy, ``morphology`` possibly replaced.
    """
    result = dict(parameters)
    morphology = Path(result["morphology"])
    result["templatename"] = define_cell_template(read_morphology(morphology).sections)
    if morphology.suffix.lower() == ".hoc":
        result["morphology"] = str(_hoc_loader(morphology))
    return result


# --------------------------------------------------------------------------
# configuration -> KernelApprox arguments
# --------------------------------------------------------------------------

#: Passive properties a population may set for its own cell
#: (``populations.<X>.cell``), else ``kernels.cell`` holds them for all.
PASSIVE_KEYS = ("cm_uF_per_cm2", "Ra_ohm_cm", "g_pas_S_per_cm2", "celsius_degC")


def population_passive(kernel_config: Mapping[str, Any], name: str) -> dict[str, float]:
    """Passive properties of population ``name``'s cell.

    Parameters
    ----------
    kernel_config : Mapping
        Kernel description: ``cell`` (defaults for all populations) and
        ``populations[name]`` (its overrides of :data:`PASSIVE_KEYS`).
    name : str
        Population.

    Returns
    -------
    dict
        ``Vrest_mV`` (mV, common to all populations), ``cm_uF_per_cm2``
        (uF/cm^2), ``Ra_ohm_cm`` (ohm cm), ``g_pas_S_per_cm2`` (S/cm^2),
        ``celsius_degC`` (degrees C).
    """
    population = kernel_config["populations"][name]
    passive = {key: float(value) for key, value in kernel_config["cell"].items()}
    passive.update({key: float(population[key]) for key in PASSIVE_KEYS if key in population})
    return passive


def cell_parameters(
    kernel_config: Mapping[str, Any],
    name: str,
    morphology_dir: str | Path,
    *,
    celsius_degC: float | None = None,
) -> dict[str, Any]:
    """LFPy ``TemplateCell`` parameters of population ``name``'s passive cell.

    Needs no simulator; :func:`loadable_cell_parameters` prepares the result
    for LFPy.

    Parameters
    ----------
    kernel_config : Mapping
        The kernel description (:func:`lfpflow.config.kernel_description`):
        ``populations[name]`` (``morphology``, optional passive overrides) and
        the common passive ``cell`` properties.
    name : str
        Population.
    morphology_dir : path-like
        Folder of the morphology files.
    celsius_degC : float, optional
        Temperature (degrees C); default the population's (see
        :func:`population_passive`).

    Returns
    -------
    dict
        Keyword arguments of ``LFPy.TemplateCell`` (without ``dt``/``tstart``/``tstop``).
    """
    passive = population_passive(kernel_config, name)
    vrest = passive["Vrest_mV"]
    morphology = Path(morphology_dir) / kernel_config["populations"][name]["morphology"]
    return {
        "morphology": str(morphology),
        "templatefile": None,  # the template is defined in-process (define_cell_template)
        "templatename": CELL_TEMPLATE_NAME,
        "templateargs": None,
        "v_init": vrest,
        "Ra": passive["Ra_ohm_cm"],
        "cm": passive["cm_uF_per_cm2"],
        "passive": True,
        "passive_parameters": {"g_pas": passive["g_pas_S_per_cm2"], "e_pas": vrest},
        "celsius": passive["celsius_degC"] if celsius_degC is None else float(celsius_degC),
        # d_lambda rule at 100 Hz: segments of at most ~40 um for our cells,
        # well below the 100 um CSD slabs and the 75 um soma-depth spread.
        "nsegs_method": "lambda100",
    }
