"""V1 neuron model with dendritic nonlinearities and back-propagating action potentials.

A tested, batched implementation of the model of Rentzeperis I, Prandi D,
Bertalmío M (2025) "A neural model for V1 that incorporates dendritic
nonlinearities and back-propagating action potentials", J Neurosci
(bioRxiv 2024.09.17.613420), and of the experiments of that paper as
workflow rules (``workflow/rules/v1.smk``). Independent of the LFP pipeline.

Modules
-------
:mod:`lfpflow.v1.stimuli`
    Gabor patches, gratings, sparse and dense noise (numpy only).
:mod:`lfpflow.v1.model`
    Filters, dendritic nonlinearities, batched relaxation, receptive field
    (one submodule each, the names used elsewhere importable from the package).
:mod:`lfpflow.v1.analysis`
    Modulation depth, tuning width, simpleness index, Fournier fit.
:mod:`lfpflow.v1.checks`
    :func:`~lfpflow.v1.checks.check_v1`, the cross-field checks of ``v1``.
:mod:`lfpflow.v1.experiments`
    Configuration (validated and completed from the defaults of
    ``lfpflow/config/schemas/v1.schema.yaml``) and one module per experiment,
    writing ``results/v1/<experiment>.h5``; :func:`~lfpflow.v1.experiments.summarise`.
:mod:`lfpflow.v1.data`
    The experimental data (CSV, package data; provenance in its ``README.md``)
    and :func:`~lfpflow.v1.data.locate`, which resolves a ``data_file`` key.
:mod:`lfpflow.v1.figures`
    The only matplotlib user for V1.

This module imports nothing heavy: the workflow reads :data:`EXPERIMENTS`
and :data:`FIGURES` while parsing the rules.
"""

#: The experiments, in the order of the paper (rule and file names).
EXPERIMENTS: tuple[str, ...] = (
    "simple_complex",
    "perturbations",
    "input_statistics",
    "contrast",
    "orientation_sharpening",
    "receptive_field",
)

#: Figures written by each experiment, as ``results/v1/figures/<name>.png``.
FIGURES: dict[str, tuple[str, ...]] = {
    "simple_complex": (
        "simple_complex_surfaces",
        "simple_complex_phase_tuning",
        "simple_complex_modulation_map",
        "simple_complex_controls",
        "simple_complex_hierarchical",
    ),
    "perturbations": ("perturbations_filters", "perturbations_summary"),
    "input_statistics": ("input_statistics_fit",),
    "contrast": ("contrast_modulation_depth",),
    "orientation_sharpening": (
        "orientation_sharpening_surfaces",
        "orientation_sharpening_tuning",
    ),
    "receptive_field": ("receptive_field_gratings", "receptive_field_masked"),
}

__all__ = ["EXPERIMENTS", "FIGURES"]
