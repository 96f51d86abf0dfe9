"""The experiments of Rentzeperis, Prandi & Bertalmío (2025), one module each.

Each experiment of :data:`lfpflow.v1.EXPERIMENTS` is the module of the same
name (the rule ``v1_<name>`` runs ``lfpflow.v1.experiments.<name>``), whose
function ``run(setup)`` takes a :class:`~lfpflow.v1.experiments.common.Setup`
(a ``v1`` section completed by :func:`complete_v1_section` from the defaults
of ``src/lfpflow/config/schemas/v1.schema.yaml``) and returns the content of
its HDF5 file (a mapping for :func:`lfpflow.io.write_h5`);
:func:`run_experiment` builds the set-up, computes, writes
``results/v1/<experiment>.h5`` and draws the figures from the written file;
:func:`summarise` collects the headline numbers into
``results/v1/summary.json``. Experimental data are package data
(:mod:`lfpflow.v1.data`).

HDF5 layout: every response dataset has an attribute ``dims`` (JSON list)
naming, axis by axis, the coordinate datasets of the same group (angles in
radians). Membrane potentials are in the model's arbitrary units (``"a.u."``);
dimensionless numbers have units ``"1"``. Root attributes: provenance
(``config_sha256`` of the ``v1`` section, ``seed``, versions, time), the
experiment name, the relaxation protocol and the dendritic-sum method (no
timing, so that reruns with ``SOURCE_DATE_EPOCH`` set are byte-identical; the
workflow's summary takes the jobs' times from the Snakemake benchmarks).

Choices that follow the authors' public code (rentzi/nonlinearNeuronModel) and
are configurable are documented in ``src/lfpflow/config/schemas/v1.schema.yaml``.

Modules, one per experiment (in the order of the paper) and three shared:

:mod:`~lfpflow.v1.experiments.common`
    :func:`complete_v1_section`, :func:`read_data`, :class:`Setup`,
    :class:`~lfpflow.v1.experiments.common.GaborGrid` and the dataset helpers.
:mod:`~lfpflow.v1.experiments.simple_complex`
    1. Simple to complex cells (Figs 2, 3, S4).
:mod:`~lfpflow.v1.experiments.perturbations`
    2. Perturbed filters (Fig 4).
:mod:`~lfpflow.v1.experiments.input_statistics`
    3. Sparse and dense noise (Fig 5).
:mod:`~lfpflow.v1.experiments.contrast`
    4. Phase sensitivity and contrast (Fig 6).
:mod:`~lfpflow.v1.experiments.orientation_sharpening`
    5. Lateral interactions (Fig 7).
:mod:`~lfpflow.v1.experiments.receptive_field`
    6. Receptive fields (Figs S2, S3).
:mod:`~lfpflow.v1.experiments.runner`
    :func:`run_experiment`, which runs the module of the experiment's name.
:mod:`~lfpflow.v1.experiments.summary`
    :func:`summarise`.

Importable from here: :func:`complete_v1_section`, :func:`read_data`,
:class:`Setup`, :func:`run_experiment` and :func:`summarise`.
"""

from lfpflow.v1.experiments.common import Setup, complete_v1_section, read_data
from lfpflow.v1.experiments.runner import run_experiment
from lfpflow.v1.experiments.summary import summarise

__all__ = [
    "Setup",
    "complete_v1_section",
    "read_data",
    "run_experiment",
    "summarise",
]
