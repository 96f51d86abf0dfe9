"""Running one V1 experiment: the module of its name, the HDF5 file and the figures."""

from __future__ import annotations

import importlib
import logging
import os
import time
from collections.abc import Mapping
from typing import Any

from lfpflow import io
from lfpflow.v1 import EXPERIMENTS, FIGURES
from lfpflow.v1.experiments.common import Setup

log = logging.getLogger(__name__)


def run_experiment(
    name: str,
    config: Mapping[str, Any] | None,
    output: str | os.PathLike,
    figures: Mapping[str, str | os.PathLike] | None = None,
) -> dict[str, Any]:
    """Run one experiment, write its HDF5 file and (optionally) its figures.

    The experiment is the function ``run`` of the module
    ``lfpflow.v1.experiments.<name>``, given the :class:`Setup` of ``config``.

    Parameters
    ----------
    name : str
        One of :data:`lfpflow.v1.EXPERIMENTS`.
    config : Mapping or None
        The ``v1`` section (defaults filled in here if missing).
    output : path-like
        ``results/v1/<name>.h5``.
    figures : Mapping, optional
        Figure name (see :data:`lfpflow.v1.FIGURES`) -> PNG path; drawn from
        the written file. Omitted figures are not drawn.

    Returns
    -------
    dict
        The file's content as read back by :func:`lfpflow.io.read_h5`.
    """
    if name not in EXPERIMENTS:
        raise ValueError(f"unknown V1 experiment {name!r}; choose from {', '.join(EXPERIMENTS)}")
    setup = Setup.from_section(config)
    resolved = setup.config
    unknown = sorted(set(figures or {}) - set(FIGURES[name]))
    if unknown:
        raise ValueError(f"unknown figure(s) for {name}: {', '.join(unknown)}")
    log.info("V1 experiment %s: start (protocol %s)", name, resolved["relaxation"]["protocol"])
    start = time.perf_counter()
    content = importlib.import_module(f"lfpflow.v1.experiments.{name}").run(setup)
    seconds = time.perf_counter() - start
    # no timing in the file: with SOURCE_DATE_EPOCH set, reruns are byte-identical
    attrs = io.provenance(
        resolved,
        experiment=name,
        protocol=resolved["relaxation"]["protocol"],
        dendritic_sum=resolved["numerics"]["dendritic_sum"],
        model="Rentzeperis, Prandi & Bertalmio (2025) J Neurosci",
    )
    io.write_h5(output, content, attrs=attrs)
    log.info("V1 experiment %s: %.1f s, wrote %s", name, seconds, output)
    data = io.read_h5(output)
    if figures:
        from lfpflow.v1 import figures as v1_figures

        for figure_name, path in figures.items():
            v1_figures.save(v1_figures.DRAW[figure_name](data), path)
            log.info("figure %s -> %s", figure_name, path)
    return data
