"""What the V1 experiments share: configuration, model set-up, stimuli, datasets.

:func:`complete_v1_section` completes and validates a ``v1`` section;
:class:`Setup` builds the model's ingredients from it; :class:`GaborGrid` is
the Gabor stimulus grid of most experiments; :func:`feedforward` relaxes the
two-term model; :func:`dataset` and the coordinate helpers build the HDF5
datasets (``dims`` attribute naming the coordinate datasets, angles in
radians, potentials in ``"a.u."``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lfpflow import io
from lfpflow.config.schema import ConfigError, resolve_section
from lfpflow.v1 import EXPERIMENTS, analysis, model, stimuli
from lfpflow.v1 import data as v1_data
from lfpflow.v1.checks import check_v1

# ---------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------


def complete_v1_section(config: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Fill defaults into a (possibly partial) ``v1`` section and validate it.

    Parameters
    ----------
    config : Mapping, optional
        The ``v1`` section of the configuration; missing keys take the
        defaults of ``src/lfpflow/config/schemas/v1.schema.yaml`` (the only
        place they are written). Lists replace the default list as a whole.

    Returns
    -------
    dict
        The complete, validated section (a new object).

    Raises
    ------
    lfpflow.config.schema.ConfigError
        A :class:`ValueError`, for an unknown key or a bad value, naming the
        key (``v1.a.b``).
    """
    resolved = resolve_section("v1", config)
    problems = check_v1({"v1": resolved})
    if problems:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(problems))
    return resolved


def read_data(data_file: str) -> dict[str, NDArray]:
    """The experimental table named by a ``data_file`` key.

    Parameters
    ----------
    data_file : str
        A CSV shipped in :mod:`lfpflow.v1.data` (bare file name) or a user's
        path (containing ``/``); see :func:`lfpflow.v1.data.locate`.

    Returns
    -------
    dict
        Column name -> float array (:func:`lfpflow.v1.analysis.read_table`).
    """
    with resources.as_file(v1_data.locate(data_file)) as path:
        return analysis.read_table(path)


# ---------------------------------------------------------------------------
# Shared set-up
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Setup:
    """Model ingredients shared by the experiments, built from the config.

    ``config`` is a complete ``v1`` section (:meth:`from_section` completes one).
    """

    config: dict[str, Any]

    @classmethod
    def from_section(cls, section: Mapping[str, Any] | None = None) -> Setup:
        """The set-up of a (possibly partial) ``v1`` section, completed by
        :func:`complete_v1_section`."""
        return cls(complete_v1_section(section))

    @property
    def relaxation(self) -> model.Relaxation:
        """The relaxation protocol of ``v1.relaxation``."""
        return model.Relaxation(**self.config["relaxation"])

    def filter_spec(self, **overrides: Any) -> model.FilterSpec:
        """Filters of ``v1.filters`` (phase offset in radians), with ``overrides``."""
        f = self.config["filters"]
        values = dict(
            n_pixels=f["n_pixels"],
            cycles_per_image=f["cycles_per_image"],
            envelope_factor=f["envelope_factor"],
            w1_envelope_factor=f["w1_envelope_factor"],
            w1_phase_offset=math.radians(f["w1_phase_offset_deg"]),
            aspect_ratio=f["aspect_ratio"],
        )
        values.update(overrides)
        return model.FilterSpec(**values)

    @property
    def pa2m(self) -> float:
        """Rate-to-potential exponent of ``v1.model`` (dimensionless)."""
        return self.config["model"]["pa2m"]

    def xor(self, pa2m: float | None = None) -> model.XorDendrite:
        """XOR lobe centred at ``xor_peak_base ** pa2m``."""
        m = self.config["model"]
        return model.XorDendrite.for_exponent(
            self.pa2m if pa2m is None else pa2m,
            peak_base=m["xor_peak_base"],
            half_width=m["xor_half_width"],
        )

    def dendritic_sum(
        self, weights: NDArray, potentials: NDArray, nonlinearity: Any
    ) -> model.ExactDendriticSum | model.BinnedDendriticSum:
        """Dendritic sum of ``weights`` over ``potentials`` by the method of ``v1.numerics``."""
        numerics = self.config["numerics"]
        return model.dendritic_sum(
            weights,
            potentials,
            nonlinearity,
            method=numerics["dendritic_sum"],
            n_bins=numerics["n_bins"],
        )

    def angles(self, start_deg: float = -90.0, stop_deg: float = 90.0) -> NDArray:
        """Orientation / phase grid in radians (default 10 degree steps over [-90, 90])."""
        step = math.radians(self.config["grid_step_deg"])
        return stimuli.angle_grid(step, math.radians(start_deg), math.radians(stop_deg))

    def phases(self) -> NDArray:
        """Stimulus phases of ``v1.grid_phase_range_deg`` (both ends), radians.

        The default [-90, 90] degrees, half a cycle, is the published protocol.
        """
        low, high = self.config["grid_phase_range_deg"]
        return self.angles(low, high)

    def full_cycle_phases(self) -> NDArray:
        """One full cycle of phase from the low end of the range, ``[low, low + 360]`` degrees.

        Same step as :meth:`phases`, both ends included (the same stimulus),
        radians. Starting at ``low`` makes every phase of :meth:`phases` a
        phase of the full cycle, so a modulation over the full cycle is never
        below the one over the configured range.
        """
        low = self.config["grid_phase_range_deg"][0]
        return self.angles(low, low + 360.0)

    def rng(self, experiment: str) -> np.random.Generator:
        """A generator seeded by ``v1.seed`` and the experiment's index in EXPERIMENTS."""
        return np.random.default_rng([self.config["seed"], EXPERIMENTS.index(experiment)])


def dataset(data: Any, units: str, dims: tuple[str, ...] | None = None, **attrs: Any) -> io.Dataset:
    """A dataset with units and, if given, the names of its coordinate datasets."""
    if dims is not None:
        attrs["dims"] = list(dims)
    return io.Dataset(np.asarray(data), units, **attrs)


def pixel_coordinates(n_pixels: int) -> dict[str, io.Dataset]:
    """Coordinates ``row`` (y, up) and ``column`` (x, right) of image datasets, pixels."""
    x, y = stimuli.pixel_grid(n_pixels)
    return {
        "row": dataset(y[:, 0], "px", description="y of each row (up is positive)"),
        "column": dataset(x[0], "px", description="x of each column"),
    }


def angle_coordinate(values: NDArray, description: str) -> io.Dataset:
    """An angle coordinate, radians."""
    return dataset(values, "rad", description=description)


#: Coordinate names of a response surface over the Gabor grid.
GRID_DIMS = ("phase", "orientation")


@dataclass(frozen=True)
class GaborGrid:
    """Gabor stimuli over (phase, orientation), at the frequency and envelope of the filters.

    Attributes
    ----------
    phases, orientations : ndarray
        The grids of :meth:`Setup.phases` and :meth:`Setup.angles`, radians.
    images : ndarray
        The stimuli, ``(n_phases * n_orientations, n, n)``, phase-major.
    full_cycle_phases : ndarray
        :meth:`Setup.full_cycle_phases`, radians.
    full_cycle_images : ndarray
        The stimuli at the preferred orientation over the full cycle,
        ``(n_full_cycle_phases, n, n)``.
    """

    phases: NDArray
    orientations: NDArray
    images: NDArray
    full_cycle_phases: NDArray
    full_cycle_images: NDArray

    @classmethod
    def build(cls, setup: Setup, spec: model.FilterSpec) -> GaborGrid:
        """Orientations over [-90, 90] and phases over ``v1.grid_phase_range_deg``
        (step ``v1.grid_step_deg``), plus a full cycle at the preferred orientation."""
        orientations = setup.angles()
        phases = setup.phases()
        images = spec.stimulus_gabor(orientations[None, :], phases[:, None])
        full_phases = setup.full_cycle_phases()
        preferred = orientations[np.argmin(np.abs(orientations))]
        return cls(
            phases,
            orientations,
            images.reshape(-1, spec.n_pixels, spec.n_pixels),
            full_phases,
            spec.stimulus_gabor(preferred, full_phases),
        )

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_phases, n_orientations)``."""
        return self.phases.size, self.orientations.size

    @property
    def preferred(self) -> int:
        """Index of the orientation closest to 0 (the filters' preferred orientation)."""
        return int(np.argmin(np.abs(self.orientations)))

    def surface(self, values: NDArray) -> NDArray:
        """``values`` with the last two axes (pair, stimulus) as (phase, orientation)."""
        return values.reshape(values.shape[:-2] + self.shape)

    def coordinates(
        self, orientation: str = "stimulus orientation", *, full_cycle: bool = False
    ) -> dict[str, io.Dataset]:
        """The ``phase`` and ``orientation`` datasets, and ``phase_full_cycle`` if asked.

        ``orientation`` describes the orientation coordinate.
        """
        content = {
            "phase": angle_coordinate(self.phases, "stimulus phase (v1.grid_phase_range_deg)"),
            "orientation": angle_coordinate(self.orientations, orientation),
        }
        if full_cycle:
            content["phase_full_cycle"] = angle_coordinate(
                self.full_cycle_phases, "stimulus phase over a full cycle, preferred orientation"
            )
        return content


def feedforward(
    setup: Setup,
    w0: NDArray,
    w1: NDArray,
    images: NDArray,
    *,
    lam: Any,
    alpha: Any,
    pa2m: float | None = None,
    nonlinearity: Any = None,
) -> model.RelaxationResult:
    """Two-term model for one filter pair and a stack of stimuli (pair axes (1, S))."""
    pa2m = setup.pa2m if pa2m is None else pa2m
    nonlinearity = nonlinearity or setup.xor(pa2m)
    potentials = model.rate_to_potential(images, pa2m)
    dsum = setup.dendritic_sum(w1[None], potentials, nonlinearity)
    q = model.linear_drive(w0, images)
    return model.relax_feedforward(q, dsum, lam=lam, alpha=alpha, relaxation=setup.relaxation)


#: Description of the modulation ratios over the configured phases (published protocol).
RATIO_GRID = (
    "(max-min)/max over phase of the rectified response, preferred orientation, "
    "phases of v1.grid_phase_range_deg (published protocol: [-90, 90] degrees, half a cycle)"
)
#: Description of the modulation ratios over a full cycle of phase.
RATIO_FULL = (
    "(max-min)/max over phase of the rectified response, preferred orientation, "
    "a full cycle of phase (phase_full_cycle)"
)
