"""Figures: the only lfpflow subpackage that imports matplotlib.

It draws the LFP pipeline (:mod:`lfpflow.figures.signals`), the single-neuron
characterisations (:mod:`lfpflow.figures.neurons`) and the ground-truth
comparison (:mod:`lfpflow.figures.groundtruth`); the V1 model keeps its own
figures in :mod:`lfpflow.v1`. Every figure function returns a
:class:`matplotlib.figure.Figure` and :func:`save_figure` writes it as a PNG.

Matplotlib runs with the Agg backend, chosen here before ``pyplot`` is first
imported, so figures render the same without a display (cluster jobs, CI).
"""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from lfpflow import io  # noqa: E402

__all__ = ["save_figure"]


def save_figure(figure: Figure, path: str | os.PathLike, *, dpi: int = 120) -> None:
    """Write ``figure`` as a PNG atomically, then close it.

    The PNG is written to a temporary file beside ``path`` and renamed to
    ``path`` only once complete, so an interrupted job never leaves a
    truncated figure that looks up to date.

    Parameters
    ----------
    figure : matplotlib.figure.Figure
        The figure; it is closed (released by ``pyplot``) even if saving fails.
    path : path-like
        Destination ``.png`` file; missing parent folders are created.
    dpi : int
        Resolution (dots per inch). The default, 120, is that of the LFP
        pipeline's figures; single-neuron figures use 110.
    """
    try:
        with io.atomic_path(path) as tmp:
            # No "Software" text chunk: the bytes of the PNG then depend on
            # the pixels only, not on the installed matplotlib version.
            figure.savefig(tmp, format="png", dpi=dpi, metadata={"Software": None})
    finally:
        plt.close(figure)
