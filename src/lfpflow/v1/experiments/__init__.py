"""The experiments of Rentzeperis, Prandi & Bertalmío (2025), one function each.

Each experiment function takes the ``v1`` configuration (completed by
:func:`complete_v1_section` from the defaults of
``src/lfpflow/config/schemas/v1.schema.yaml``) and returns the content of its
HDF5 file (a mapping for :func:`lfpflow.io.write_h5`); :func:`run_experiment`
computes, writes ``results/v1/<experiment>.h5`` and draws the figures from
the written file; :func:`summarise` collects the headline numbers into
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
    :class:`GaborGrid` and the dataset helpers.
:mod:`~lfpflow.v1.experiments.simple_to_complex`
    1. :func:`simple_complex` (Figs 2, 3, S4).
:mod:`~lfpflow.v1.experiments.filter_perturbations`
    2. :func:`perturbations` (Fig 4).
:mod:`~lfpflow.v1.experiments.noise_statistics`
    3. :func:`input_statistics` (Fig 5).
:mod:`~lfpflow.v1.experiments.contrast_modulation`
    4. :func:`contrast` (Fig 6).
:mod:`~lfpflow.v1.experiments.lateral_sharpening`
    5. :func:`orientation_sharpening` (Fig 7).
:mod:`~lfpflow.v1.experiments.receptive_fields`
    6. :func:`receptive_field` (Figs S2, S3).
:mod:`~lfpflow.v1.experiments.runner`
    :func:`run_experiment`, which dispatches on the experiment's name.
:mod:`~lfpflow.v1.experiments.summary`
    :func:`summarise`.

The modules are not named after their experiment functions so that the
functions, re-exported here, are not shadowed by submodules of the same name.
"""

from lfpflow.v1.experiments.common import GaborGrid, Setup, complete_v1_section, read_data
from lfpflow.v1.experiments.contrast_modulation import contrast
from lfpflow.v1.experiments.filter_perturbations import perturbations
from lfpflow.v1.experiments.lateral_sharpening import orientation_sharpening
from lfpflow.v1.experiments.noise_statistics import input_statistics
from lfpflow.v1.experiments.receptive_fields import receptive_field
from lfpflow.v1.experiments.runner import run_experiment
from lfpflow.v1.experiments.simple_to_complex import simple_complex
from lfpflow.v1.experiments.summary import summarise

__all__ = [
    "GaborGrid",
    "Setup",
    "contrast",
    "input_statistics",
    "orientation_sharpening",
    "perturbations",
    "read_data",
    "receptive_field",
    "complete_v1_section",
    "run_experiment",
    "simple_complex",
    "summarise",
]
