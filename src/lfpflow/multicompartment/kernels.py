"""Spike-to-signal kernels of the multicompartment (MC) network description.

A kernel :math:`H_{YX}(\\tau)` maps the spike count per time bin of a
presynaptic population ``X`` to the contribution to a measurement (LFP, CSD,
current dipole moment) of the synapses it makes onto the postsynaptic
population ``Y``, so that a signal is :math:`\\sum_X \\sum_Y \\nu_X * H_{YX}`
(Hagen et al. 2022, PLOS Comput Biol 18:e1010353). Kernels are
computed with LFPykernels' ``KernelApprox``, which represents the whole
population ``Y`` by one passive ball-and-sticks cell receiving, at one
instant, every synapse that one presynaptic spike of ``X`` activates in the
population, each current linearised around the rest potential and spread over
the compartments in proportion to membrane area times the configured synapse
density along depth. The response is convolved with the distribution of
conduction delays, so a kernel is zero before the shortest delay.

This is the only lfpflow module that imports NEURON, LFPy and LFPykernels, and
it does so inside functions: importing it loads no simulator and compiles
nothing.

Conventions
-----------
Pathway keys are ``"<post>:<pre>"`` (LFPykernels' ``'Y:X'``). The presynaptic
population sets the synapse kinetics (``kernels.synapses[pre]``); weights,
multapses, delays and synapse positions are looked up by pathway key.

Units: time ms, lengths and depths um, conductances uS (synaptic) or S/cm^2
(membrane), currents nA, potentials mV, conductivity S/m, rates Hz. Results:
LFP mV, CDM nA*um, CSD nA/um^3.

Current-based synapses (``kernels.synapse_type: current``) use our
``CurrExp2Syn`` (``mod/CurrExp2Syn.mod``) with a positive weight meaning an
inward, depolarising current. Conductance-based ones are linearised by
``KernelApprox`` itself into a mechanism it names ``Exp2SynI``
(``mod/Exp2SynI.mod``, same dynamics), so both mechanisms must be compiled.

Neither NEURON nor ``neuron.load_mechanisms`` can load one mechanism library
twice in a process; :func:`compute_kernel` loads the given one at most once and
refuses a different one afterwards (start a new process instead).

References
----------
Hagen E, Magnusson SH, Ness TV, Halnes G, Babu PN, Linssen C, Morrison A,
Einevoll GT (2022). Brain signal predictions from multi-scale networks using a
linearized framework. PLOS Comput Biol 18(8): e1010353.
https://doi.org/10.1371/journal.pcbi.1010353
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from lfpflow.io import (
    Dataset,
    config_sha256,
    provenance,
    read_h5,
    write_h5,
)
from lfpflow.multicompartment.cells import (
    CELL_TEMPLATE_NAME,
    define_cell_template,
    load_mechanisms,
)

log = logging.getLogger(__name__)

#: Kernel arrays in a result of :func:`compute_kernel`, with their units and
#: axis names (``CSD`` only when ``kernels.probes.csd`` is true, ``CDM`` only
#: when ``kernels.probes.cdm`` is true).
KERNEL_DATASETS = {
    "LFP": ("mV", ["contact", "lag"]),
    "CDM": ("nA*um", ["component_xyz", "lag"]),
    "CSD": ("nA/um^3", ["contact", "lag"]),
    "tau_ms": ("ms", ["lag"]),
    "z_um": ("um", ["contact"]),
}

def pathway_key(post: str, pre: str) -> str:
    """Pathway key ``"<post>:<pre>"`` (LFPykernels' ``'Y:X'``)."""
    return f"{post}:{pre}"


def current_synapse_weight_nA(weight_uS: float, vrest_mV: float, e_rev_mV: float) -> float:
    """Peak current (nA) of the current synapse that replaces a conductance synapse.

    It is the current of the conductance synapse at its peak conductance and
    at rest, counted positive when inward (depolarising), the sign convention
    of ``CurrExp2Syn``: ``weight_uS * (e_rev_mV - vrest_mV)``. NEURON counts
    membrane currents positive outward, ``g * (V - e_rev)``; this is its
    negative, which is also what ``KernelApprox`` uses when it linearises a
    conductance synapse (Hagen et al. 2022).

    Parameters
    ----------
    weight_uS : float
        Peak synaptic conductance (uS).
    vrest_mV : float
        Potential the synapse is linearised around (mV).
    e_rev_mV : float
        Synaptic reversal potential (mV).

    Returns
    -------
    float
        Weight (nA): positive for excitatory (``e_rev > Vrest``), negative
        for inhibitory synapses.
    """
    return float(weight_uS) * (float(e_rev_mV) - float(vrest_mV))


def n_lags(tau_ms: float, dt_ms: float) -> int:
    """Number of kernel lags, ``2 * round(tau / dt) + 1``."""
    return 2 * int(round(tau_ms / dt_ms)) + 1


def lag_times_ms(tau_ms: float, dt_ms: float) -> np.ndarray:
    """Kernel lags (ms) from ``-tau`` to ``tau`` in steps of ``dt``, lag 0 at the centre."""
    half = int(round(tau_ms / dt_ms))
    return np.arange(-half, half + 1, dtype=float) * dt_ms


def csd_slab_edges_um(z_um: np.ndarray) -> np.ndarray:
    """Lower and upper edges (um) of the CSD slab around each contact.

    Each slab reaches halfway to the neighbouring contacts; the outermost
    slabs are symmetric about their contact. For equally spaced contacts this
    is ``z +- spacing / 2`` (``+-50 um`` for the default 100 um spacing).

    Parameters
    ----------
    z_um : ndarray
        Contact depths (um), any order, at least two, all different.

    Returns
    -------
    ndarray
        Shape ``(n_contacts, 2)``: lower and upper edge, in the order of
        ``z_um``.
    """
    z_um = np.asarray(z_um, dtype=float)
    if z_um.ndim != 1 or z_um.size < 2:
        raise ValueError("kernels.probes.lfp.z_um needs at least two contacts for the CSD")
    order = np.argsort(z_um)
    z_sorted = z_um[order]
    if np.any(np.diff(z_sorted) <= 0):
        raise ValueError("kernels.probes.lfp.z_um must not repeat a depth")
    midpoints = 0.5 * (z_sorted[1:] + z_sorted[:-1])
    lower = np.concatenate([[2 * z_sorted[0] - midpoints[0]], midpoints])
    upper = np.concatenate([midpoints, [2 * z_sorted[-1] - midpoints[-1]]])
    edges = np.empty((z_um.size, 2))
    edges[order, 0] = lower
    edges[order, 1] = upper
    return edges


def _item(mapping: Any, key: str, name: str) -> Any:
    """``mapping[key]``, or a ValueError naming the configuration key ``name``."""
    if not isinstance(mapping, Mapping):
        raise ValueError(f"cannot read {name}: its parent is not a mapping")
    try:
        return mapping[key]
    except KeyError:
        raise ValueError(f"missing configuration key {name}") from None


def _number(value: Any, name: str, *, positive: bool = False, nonnegative: bool = False) -> float:
    """``value`` as a finite float, or a ValueError naming the configuration key ``name``."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ValueError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if positive and not value > 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    if nonnegative and not value >= 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return value


def _number_at(mapping: Any, key: str, name: str, **bounds: bool) -> float:
    """Validated number ``mapping[key]``; errors name the configuration key ``name``."""
    return _number(_item(mapping, key, name), name, **bounds)


def _flag_at(mapping: Any, key: str, name: str) -> bool:
    """Boolean ``mapping[key]``; errors name the configuration key ``name``."""
    value = _item(mapping, key, name)
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"{name} must be true or false, got {value!r}")
    return bool(value)


def _synapse_kinetics(kernel_config: Mapping[str, Any], pre: str) -> dict[str, float]:
    """``tau1``, ``tau2`` (ms) and ``e`` (mV) of the synapses ``pre`` makes."""
    name = f"kernels.synapses['{pre}']"
    synapse = _item(_item(kernel_config, "synapses", "kernels.synapses"), pre, name)
    tau1 = _number_at(synapse, "tau1_ms", f"{name}.tau1_ms", positive=True)
    tau2 = _number_at(synapse, "tau2_ms", f"{name}.tau2_ms", positive=True)
    if not tau1 < tau2:
        raise ValueError(f"{name}: tau1_ms ({tau1}) must be smaller than tau2_ms ({tau2})")
    return {"tau1": tau1, "tau2": tau2, "e": _number_at(synapse, "e_rev_mV", f"{name}.e_rev_mV")}


def _multapse_arguments(kernel_config: Mapping[str, Any], key: str) -> dict[str, float]:
    """``scipy.stats.truncnorm`` arguments for the synapses per connection of a pathway."""
    name = f"kernels.multapses['{key}']"
    multapse = _item(_item(kernel_config, "multapses", "kernels.multapses"), key, name)
    mean = _number_at(multapse, "mean", f"{name}.mean", positive=True)
    sd = _number_at(multapse, "sd", f"{name}.sd", positive=True)
    low = _number_at(multapse, "min", f"{name}.min")
    high = _number_at(multapse, "max", f"{name}.max")
    # KernelApprox evaluates this density at 1, 2, ..., 99 synapses per connection.
    if not 1 <= low <= high <= 99:
        raise ValueError(f"{name}: need 1 <= min <= max <= 99, got min={low}, max={high}")
    return {"a": (low - mean) / sd, "b": (high - mean) / sd, "loc": mean, "scale": sd}


def _delay_arguments(kernel_config: Mapping[str, Any], key: str) -> dict[str, float]:
    """``scipy.stats.truncnorm`` arguments for the delays (ms) of a pathway."""
    name = f"kernels.delays['{key}']"
    delay = _item(_item(kernel_config, "delays", "kernels.delays"), key, name)
    mean = _number_at(delay, "mean_ms", f"{name}.mean_ms", positive=True)
    sd = _number_at(delay, "sd_ms", f"{name}.sd_ms", positive=True)
    # Truncated to [min_ms, inf); a negative delay would make the kernel acausal.
    low = _number_at(delay, "min_ms", f"{name}.min_ms", nonnegative=True)
    return {"a": (low - mean) / sd, "b": np.inf, "loc": mean, "scale": sd}


def _position_arguments(kernel_config: Mapping[str, Any], key: str) -> dict[str, Any]:
    """``get_rand_idx_area_and_distribution_prob`` arguments for a pathway's synapses."""
    import scipy.stats as st

    name = f"kernels.synapse_positions['{key}']"
    positions = _item(kernel_config, "synapse_positions", "kernels.synapse_positions")
    position = _item(positions, key, name)
    sections = list(_item(position, "sections", f"{name}.sections"))
    z_means = list(_item(position, "z_mean_um", f"{name}.z_mean_um"))
    z_sds = list(_item(position, "z_sd_um", f"{name}.z_sd_um"))
    weights = list(_item(position, "weights", f"{name}.weights"))
    if not sections or not all(isinstance(section, str) and section for section in sections):
        raise ValueError(f"{name}.sections must be a non-empty list of section names")
    if not len(z_means) == len(z_sds) == len(weights) >= 1:
        raise ValueError(f"{name}: z_mean_um, z_sd_um and weights need one entry per component")
    components = zip(z_means, z_sds, weights, strict=True)
    for i, (z_mean, z_sd, weight) in enumerate(components):
        _number(z_mean, f"{name}.z_mean_um[{i}]")
        _number(z_sd, f"{name}.z_sd_um[{i}]", positive=True)
        _number(weight, f"{name}.weights[{i}]", nonnegative=True)
    return {
        "section": sections,
        "fun": [st.norm] * len(z_means),
        "funargs": [
            {"loc": float(m), "scale": float(s)} for m, s in zip(z_means, z_sds, strict=True)
        ],
        "funweights": [float(w) for w in weights],
    }


def kernel_approx_arguments(
    kernel_config: Mapping[str, Any], *, post: str, pre: str, morphology_dir: Path
) -> dict[str, Any]:
    """Validate a ``kernels:`` configuration and translate it for one pathway.

    Needs no simulator: every configuration error surfaces here, as a
    ValueError naming the key, before NEURON is loaded.

    Parameters
    ----------
    kernel_config : Mapping
        Resolved ``kernels:`` section of the configuration.
    post, pre : str
        Postsynaptic (``Y``) and presynaptic (``X``) population names.
    morphology_dir : Path
        Folder with the morphology files named in ``kernels.populations``.

    Returns
    -------
    dict
        ``"approx"``: keyword arguments of ``lfpykernels.KernelApprox``, whose
        ``X`` lists every population with a connection probability onto
        ``post`` (all of them add to the effective membrane conductance);
        ``"vrest_mV"``, ``"g_eff"``, ``"tau_ms"``; ``"probes"``: contact depths
        (um), conductivity (S/m), population radius and soma-depth sd (um),
        ``csd`` and ``cdm`` flags.

    Raises
    ------
    ValueError
        For a missing, mistyped or out-of-range value (the message names the
        key).
    FileNotFoundError
        If the morphology file of ``post`` does not exist.
    """
    import scipy.stats as st

    populations = _item(kernel_config, "populations", "kernels.populations")
    if not isinstance(populations, Mapping):
        raise ValueError("kernels.populations must be a mapping of population names")
    for name in (post, pre):
        _item(populations, name, f"kernels.populations['{name}']")
    size = {}
    for name, population in populations.items():
        key = f"kernels.populations['{name}'].size"
        size[name] = _number_at(population, "size", key, positive=True)
        if size[name] != int(size[name]):
            raise ValueError(f"{key} must be a whole number, got {size[name]}")
    morphology_name = f"kernels.populations['{post}'].morphology"
    morphology = Path(morphology_dir) / str(_item(populations[post], "morphology", morphology_name))
    if not morphology.is_file():
        raise FileNotFoundError(f"{morphology_name}: no file {morphology}")

    synapse_type = _item(kernel_config, "synapse_type", "kernels.synapse_type")
    if synapse_type not in ("conductance", "current"):
        raise ValueError(
            f"kernels.synapse_type must be 'conductance' or 'current', got {synapse_type!r}"
        )
    conductance_based = synapse_type == "conductance"
    g_eff = _flag_at(kernel_config, "g_eff", "kernels.g_eff")
    if g_eff and not conductance_based:
        # g_eff is the mean synaptic conductance; current synapses have none
        # (KernelApprox.get_kernel refuses this combination too).
        raise ValueError("kernels.g_eff must be false when kernels.synapse_type is 'current'")
    tau_ms = _number_at(kernel_config, "tau_ms", "kernels.tau_ms", positive=True)

    cell = _item(kernel_config, "cell", "kernels.cell")
    vrest = _number_at(cell, "Vrest_mV", "kernels.cell.Vrest_mV")
    cell_parameters = {
        "morphology": str(morphology),
        "templatefile": None,  # the template is defined in-process (define_cell_template)
        "templatename": CELL_TEMPLATE_NAME,
        "templateargs": None,
        "v_init": vrest,
        "Ra": _number_at(cell, "Ra_ohm_cm", "kernels.cell.Ra_ohm_cm", positive=True),
        "cm": _number_at(cell, "cm_uF_per_cm2", "kernels.cell.cm_uF_per_cm2", positive=True),
        "passive": True,
        "passive_parameters": {
            "g_pas": _number_at(
                cell, "g_pas_S_per_cm2", "kernels.cell.g_pas_S_per_cm2", positive=True
            ),
            "e_pas": vrest,
        },
        "celsius": _number_at(cell, "celsius_degC", "kernels.cell.celsius_degC"),
        # d_lambda rule at 100 Hz: segments of at most ~40 um for our cells,
        # well below the 100 um CSD slabs and the 75 um soma-depth spread.
        "nsegs_method": "lambda100",
    }

    geometry_name = "kernels.population_geometry"
    geometry = _item(kernel_config, "population_geometry", geometry_name)
    radius = _number_at(geometry, "radius_um", f"{geometry_name}.radius_um", positive=True)
    z_mean = _number_at(geometry, "soma_z_mean_um", f"{geometry_name}.soma_z_mean_um")
    # > 0: GaussCylinderPotential divides by it
    z_sd = _number_at(geometry, "soma_z_sd_um", f"{geometry_name}.soma_z_sd_um", positive=True)

    # The presynaptic populations of `post` are those with a connection probability.
    probabilities = _item(kernel_config, "connection_probability", "kernels.connection_probability")
    own_key = pathway_key(post, pre)
    _item(probabilities, own_key, f"kernels.connection_probability['{own_key}']")
    presynaptic = [x for x in populations if pathway_key(post, x) in probabilities]
    weights_uS = _item(kernel_config, "weights_uS", "kernels.weights_uS")
    rates = kernel_config.get("presynaptic_rates_Hz")
    if g_eff and not isinstance(rates, Mapping):
        raise ValueError(
            "missing configuration key kernels.presynaptic_rates_Hz: g_eff needs the mean "
            "firing rate (Hz) of each presynaptic population"
        )

    probability, synapse_parameters, nu_X = [], [], {}
    for x in presynaptic:
        key = pathway_key(post, x)
        p = _number_at(
            probabilities, key, f"kernels.connection_probability['{key}']", nonnegative=True
        )
        if p > 1:
            raise ValueError(f"kernels.connection_probability['{key}'] must be <= 1, got {p}")
        probability.append(p)
        kinetics = _synapse_kinetics(kernel_config, x)
        weight_uS = _number_at(weights_uS, key, f"kernels.weights_uS['{key}']", nonnegative=True)
        if conductance_based:
            synapse_parameters.append({"weight": weight_uS, "syntype": "Exp2Syn", **kinetics})
        else:
            synapse_parameters.append(
                {
                    "weight": current_synapse_weight_nA(weight_uS, vrest, kinetics["e"]),
                    "syntype": "CurrExp2Syn",
                    "tau1": kinetics["tau1"],
                    "tau2": kinetics["tau2"],
                }
            )
        # Rates only enter through g_eff.
        nu_X[x] = (
            _number_at(rates, x, f"kernels.presynaptic_rates_Hz['{x}']", nonnegative=True)
            if g_eff
            else 0.0
        )

    external_name = "kernels.external"
    external = _item(kernel_config, "external", external_name)
    external_synapse = {
        "syntype": "Exp2Syn",
        "weight": _number_at(external, "weight_uS", f"{external_name}.weight_uS", nonnegative=True),
        "tau1": _number_at(external, "tau1_ms", f"{external_name}.tau1_ms", positive=True),
        "tau2": _number_at(external, "tau2_ms", f"{external_name}.tau2_ms", positive=True),
        "e": _number_at(external, "e_rev_mV", f"{external_name}.e_rev_mV"),
    }
    if not external_synapse["tau1"] < external_synapse["tau2"]:
        raise ValueError(f"{external_name}: tau1_ms must be smaller than tau2_ms")
    n_ext = _item(external, "n_ext", f"{external_name}.n_ext")

    probes = _item(kernel_config, "probes", "kernels.probes")
    lfp = _item(probes, "lfp", "kernels.probes.lfp")
    z_um = np.asarray(_item(lfp, "z_um", "kernels.probes.lfp.z_um"), dtype=float)
    if z_um.ndim != 1 or z_um.size == 0 or not np.all(np.isfinite(z_um)):
        raise ValueError("kernels.probes.lfp.z_um must be a non-empty list of depths (um)")
    probe_settings = {
        "z_um": z_um,
        "sigma_S_per_m": _number_at(
            lfp, "sigma_S_per_m", "kernels.probes.lfp.sigma_S_per_m", positive=True
        ),
        "radius_um": radius,
        "soma_z_sd_um": z_sd,
        "csd": _flag_at(probes, "csd", "kernels.probes.csd"),
        "cdm": _flag_at(probes, "cdm", "kernels.probes.cdm"),
    }
    if probe_settings["csd"]:
        csd_slab_edges_um(z_um)  # raises for fewer than two or repeated contacts

    approx = {
        "X": presynaptic,
        "Y": post,
        "N_X": np.array([size[x] for x in presynaptic]),
        "N_Y": size[post],
        "C_YX": np.array(probability),
        "cellParameters": cell_parameters,
        "populationParameters": {"radius": radius, "loc": z_mean, "scale": z_sd},
        "rotationParameters": {"x": 0.0, "y": 0.0},
        "multapseFunction": st.truncnorm,
        "multapseParameters": [
            _multapse_arguments(kernel_config, pathway_key(post, x)) for x in presynaptic
        ],
        "delayFunction": st.truncnorm,
        "delayParameters": [
            _delay_arguments(kernel_config, pathway_key(post, x)) for x in presynaptic
        ],
        "synapseParameters": synapse_parameters,
        "synapsePositionArguments": [
            _position_arguments(kernel_config, pathway_key(post, x)) for x in presynaptic
        ],
        "extSynapseParameters": external_synapse,
        "nu_ext": _number_at(external, "nu_Hz", f"{external_name}.nu_Hz", nonnegative=True),
        "n_ext": _number_at(n_ext, post, f"{external_name}.n_ext['{post}']", nonnegative=True),
        "nu_X": nu_X,
        "conductance_based": conductance_based,
    }
    return {
        "approx": approx,
        "vrest_mV": vrest,
        "g_eff": g_eff,
        "tau_ms": tau_ms,
        "probes": probe_settings,
    }


# --------------------------------------------------------------------------
# CSD probe
# --------------------------------------------------------------------------


class GaussCylinderCSD:
    """Laminar CSD of a population spread like ``GaussCylinderPotential`` (nA/um^3).

    ``KernelApprox`` places one cell at the mean soma depth; the population it
    stands for has somata spread uniformly over a disc of radius ``R`` and
    normally along depth with standard deviation ``sigma_z``.
    LFPykernels' ``GaussCylinderPotential`` computes the LFP of exactly that
    spread (Hagen et al. 2022). For the CSD to be the source of
    that LFP, this probe spreads each segment's current in the same way: the
    fraction of the current of a segment with midpoint depth ``z_i`` that
    lies in the slab ``[a, b]`` is ``Phi((b - z_i)/sigma_z) - Phi((a -
    z_i)/sigma_z)`` (``Phi`` the standard normal CDF), divided by the slab
    volume ``pi R^2 (b - a)``. The CSD of the single cell
    (``lfpykit.LaminarCurrentSourceDensity``) would instead show each
    compartment's current in one slab only.

    It follows LFPykit's ``LinearModel`` protocol as ``KernelApprox`` uses it:
    a ``cell`` attribute (set to the kernel's cell during
    ``get_kernel``) and :meth:`get_transformation_matrix`.

    Parameters
    ----------
    cell : object or None
        ``lfpykit.CellGeometry``-like object with ``z`` (n_seg x 2, um), or
        None until ``KernelApprox`` sets it.
    slab_edges_um : ndarray
        Shape ``(n_slabs, 2)``: lower and upper edge of each slab (um).
    radius_um : float
        Radius ``R`` of the population disc (um).
    sigma_z_um : float
        Standard deviation ``sigma_z`` of the soma depths (um).
    """

    def __init__(
        self, cell: Any, slab_edges_um: np.ndarray, radius_um: float, sigma_z_um: float
    ) -> None:
        self.cell = cell
        self.slab_edges_um = np.asarray(slab_edges_um, dtype=float)
        self.radius_um = float(radius_um)
        self.sigma_z_um = float(sigma_z_um)

    def get_transformation_matrix(self) -> np.ndarray:
        """Matrix ``M`` (1/um^3) with CSD = ``M @ I`` for segment currents ``I`` (nA).

        Returns
        -------
        ndarray
            Shape ``(n_slabs, n_seg)``.

        Raises
        ------
        AttributeError
            If ``cell`` is None.
        """
        from scipy.special import ndtr

        if self.cell is None:
            raise AttributeError(f"{type(self).__name__}.cell is None")
        z_mid = np.asarray(self.cell.z, dtype=float).mean(axis=-1)
        lower = self.slab_edges_um[:, :1]
        upper = self.slab_edges_um[:, 1:]
        fraction = ndtr((upper - z_mid) / self.sigma_z_um) - ndtr((lower - z_mid) / self.sigma_z_um)
        volume = np.pi * self.radius_um**2 * (upper - lower)
        return fraction / volume


# --------------------------------------------------------------------------
# kernels
# --------------------------------------------------------------------------


def compute_kernel(
    kernel_config: Mapping[str, Any],
    *,
    post: str,
    pre: str,
    dt_ms: float,
    mechanisms_dir: Path,
    morphology_dir: Path,
) -> dict[str, np.ndarray]:
    """Spike-to-signal kernel of presynaptic ``pre`` onto postsynaptic ``post``.

    Builds LFPykernels' ``KernelApprox`` for the pathway (Hagen et al.
    2022): one passive cell of population ``post``,
    at the mean soma depth, receives at lag 0 all synapses one spike of
    ``pre`` activates in the population, ``C_YX * N_Y * mean multapses``
    synapses spread over the compartments in proportion to area times the
    configured density along depth (that density widened by the soma-depth
    spread), each as a current synapse (see below). With ``g_eff`` the leak
    conductance is raised by the mean conductance of all recurrent synapses
    onto ``post`` (at ``kernels.presynaptic_rates_Hz``) and of the external
    ones (``kernels.external``), which shortens the membrane time constant.
    The membrane currents are mapped to

    * ``LFP`` with ``GaussCylinderPotential`` (population as a disc of radius
      ``population_geometry.radius_um``, depths spread normally with
      ``soma_z_sd_um``; point contacts on the disc axis),
    * ``CDM`` with ``KernelApproxCurrentDipoleMoment`` (x and y rows are
      zero: the population is rotationally symmetric about z),
    * ``CSD`` with :class:`GaussCylinderCSD` (slabs halfway to neighbouring
      contacts),

    and convolved with the delay distribution (normal, truncated below at
    ``delays[...].min_ms``), so every kernel is exactly zero for negative lags
    and for lags shorter than the shortest delay. (The first nonzero lag is
    about two steps later: a synaptic current starts at zero, and NEURON's
    fixed-step scheme records currents one step late.)

    Synapses: ``synapse_type: conductance`` uses Exp2Syn parameters, which
    ``KernelApprox`` linearises around ``cell.Vrest_mV`` into current synapses
    of peak ``-weight_uS * (Vrest - e_rev)`` nA. ``synapse_type: current``
    uses our ``CurrExp2Syn`` directly with peak current
    ``weight_uS * (e_rev_mV - Vrest_mV)`` (nA, positive = inward, see
    :func:`current_synapse_weight_nA`), i.e. the conductance synapse's current
    at rest, and ``KernelApprox(conductance_based=False)``; then ``g_eff``
    must be false and the kernel is exactly linear in the weights.

    Parameters
    ----------
    kernel_config : Mapping
        Resolved ``kernels:`` section of the configuration.
    post, pre : str
        Postsynaptic (``Y``) and presynaptic (``X``) population.
    dt_ms : float
        Lag step (ms), the simulation's ``dt_ms`` (also NEURON's time step).
    mechanisms_dir : Path
        Output of :func:`compile_mechanisms`; loaded once per process.
    morphology_dir : Path
        Folder with the morphology files named in ``kernels.populations``.

    Returns
    -------
    dict of ndarray
        ``"LFP"`` (n_contacts x n_lags, mV), ``"CDM"`` (3 x n_lags, nA*um; if
        ``probes.cdm``), ``"CSD"`` (n_contacts x n_lags, nA/um^3; if
        ``probes.csd``), ``"tau_ms"`` (n_lags, ms, ``-tau..tau`` with lag 0 at
        index ``n_lags // 2``; ``n_lags = 2 * round(tau / dt) + 1``) and
        ``"z_um"`` (contact depths, um). Each kernel is the response, summed
        over the postsynaptic population, to one presynaptic spike.

    Raises
    ------
    ValueError
        For bad configuration values (message names the key) or a ``tau_ms``
        that is not a whole number of ``dt_ms``.
    """
    dt_ms = _number(dt_ms, "simulation.dt_ms", positive=True)
    setup = kernel_approx_arguments(
        kernel_config, post=post, pre=pre, morphology_dir=morphology_dir
    )
    tau_ms = setup["tau_ms"]
    half = round(tau_ms / dt_ms)
    if half < 1 or abs(tau_ms / dt_ms - half) > 1e-9:
        raise ValueError(
            f"kernels.tau_ms ({tau_ms}) must be a positive whole number of "
            f"simulation.dt_ms ({dt_ms})"
        )
    lags = lag_times_ms(tau_ms, dt_ms)
    tau_ms = half * dt_ms
    probe_setup = setup["probes"]

    started = time.perf_counter()
    import lfpykernels

    load_mechanisms(Path(mechanisms_dir))
    define_cell_template()

    probes: list[Any] = [
        lfpykernels.GaussCylinderPotential(
            cell=None,
            z=probe_setup["z_um"],
            sigma=probe_setup["sigma_S_per_m"],
            R=probe_setup["radius_um"],
            sigma_z=probe_setup["soma_z_sd_um"],
        )
    ]
    if probe_setup["cdm"]:
        probes.append(lfpykernels.KernelApproxCurrentDipoleMoment(cell=None))
    if probe_setup["csd"]:
        probes.append(
            GaussCylinderCSD(
                cell=None,
                slab_edges_um=csd_slab_edges_um(probe_setup["z_um"]),
                radius_um=probe_setup["radius_um"],
                sigma_z_um=probe_setup["soma_z_sd_um"],
            )
        )

    approx = lfpykernels.KernelApprox(**setup["approx"])
    try:
        responses = approx.get_kernel(
            probes=probes,
            Vrest=setup["vrest_mV"],
            dt=dt_ms,
            X=pre,
            # Event at t = tau: the simulation then spans exactly the lag window;
            # the passive cell starts at rest (v_init = e_pas), no settling needed.
            t_X=tau_ms,
            tau=tau_ms,
            g_eff=setup["g_eff"],
            fir=False,
        )
    finally:
        # Drop the cell so its NEURON sections and synapses do not outlive this
        # call (LFPy deletes all sections when the next cell is built).
        approx.cell = None

    result: dict[str, np.ndarray] = {
        "LFP": np.asarray(responses["GaussCylinderPotential"], dtype=float)
    }
    if probe_setup["cdm"]:
        result["CDM"] = np.asarray(responses["KernelApproxCurrentDipoleMoment"], dtype=float)
    if probe_setup["csd"]:
        result["CSD"] = np.asarray(responses["GaussCylinderCSD"], dtype=float)
    for name, values in result.items():
        if values.shape[-1] != lags.size:
            # LFPy selects the lag window by comparing float times, which can
            # miss an end point when dt is not a power of two.
            raise RuntimeError(
                f"{name} kernel has {values.shape[-1]} lags, expected {lags.size}; "
                f"use a dt_ms that is a power of two (got {dt_ms})"
            )
    result["tau_ms"] = lags
    result["z_um"] = np.array(probe_setup["z_um"], dtype=float)

    elapsed = time.perf_counter() - started
    log.info(
        "kernel %s computed in %.2f s: max|LFP| = %.3g mV%s",
        pathway_key(post, pre),
        elapsed,
        np.abs(result["LFP"]).max(),
        f", max|CDM_z| = {np.abs(result['CDM'][2]).max():.3g} nA*um" if "CDM" in result else "",
    )
    return result


# --------------------------------------------------------------------------
# files
# --------------------------------------------------------------------------


def kernel_dataset_content(kernel: Mapping[str, np.ndarray]) -> dict[str, Dataset]:
    """Datasets with units for :func:`lfpflow.io.write_h5`.

    Parameters
    ----------
    kernel : Mapping
        Result of :func:`compute_kernel`.

    Returns
    -------
    dict
        Name -> :class:`lfpflow.io.Dataset` with ``units`` and ``dims``; the
        ``CSD`` dataset also carries ``slab_edges_um`` (n_contacts x 2).
    """
    for name in ("LFP", "tau_ms", "z_um"):
        if name not in kernel:
            raise ValueError(f"kernel has no {name!r} array")
    content: dict[str, Dataset] = {}
    for name, (units, dims) in KERNEL_DATASETS.items():
        if name not in kernel:
            continue
        attrs: dict[str, Any] = {"dims": dims}
        if name == "CSD":
            attrs["slab_edges_um"] = csd_slab_edges_um(kernel["z_um"])
        content[name] = Dataset(np.asarray(kernel[name], dtype=float), units, **attrs)
    return content


def write_kernel(
    path: str | os.PathLike,
    kernel: Mapping[str, np.ndarray],
    *,
    config: Mapping[str, Any],
    post: str,
    pre: str,
) -> None:
    """Write one kernel to ``kernels/<post>_<pre>.h5`` (atomically).

    Parameters
    ----------
    path : path-like
        Destination file.
    kernel : Mapping
        Result of :func:`compute_kernel`.
    config : Mapping
        Full resolved configuration (for provenance; its ``kernels`` section
        is hashed into ``kernel_config_sha256``).
    post, pre : str
        Postsynaptic and presynaptic population.

    Notes
    -----
    Root attributes: :func:`lfpflow.io.provenance` plus ``post``, ``pre``,
    ``synapse_type``, ``g_eff``, ``kernel_config_sha256`` and ``dt_ms`` (the
    lag step, which the kernels section does not contain).
    """
    kernel_config = config["kernels"]
    lags = np.asarray(kernel["tau_ms"], dtype=float)
    attrs = provenance(
        config,
        post=post,
        pre=pre,
        synapse_type=str(kernel_config["synapse_type"]),
        g_eff=bool(kernel_config["g_eff"]),
        kernel_config_sha256=config_sha256(kernel_config),
        dt_ms=float(lags[1] - lags[0]) if lags.size > 1 else float("nan"),
    )
    write_h5(path, kernel_dataset_content(kernel), attrs=attrs)


def load_kernels(
    paths: Iterable[str | os.PathLike],
) -> dict[tuple[str, str], dict[str, Any]]:
    """Read kernel files written by :func:`write_kernel`.

    Parameters
    ----------
    paths : iterable of path-like
        Kernel files.

    Returns
    -------
    dict
        ``(post, pre)`` -> ``{"LFP", "CDM"?, "CSD"?, "tau_ms", "z_um"}`` arrays
        plus ``"attrs"`` (root attributes) and ``"units"`` (dataset -> units).

    Raises
    ------
    ValueError
        If two files hold the same pathway or the files' lags differ (their
        kernels could not be summed).
    """
    kernels: dict[tuple[str, str], dict[str, Any]] = {}
    reference_lags: np.ndarray | None = None
    for path in paths:
        data = read_h5(path)
        attrs = data["attrs"]
        key = (str(attrs["post"]), str(attrs["pre"]))
        if key in kernels:
            raise ValueError(f"pathway {pathway_key(*key)} appears twice (second: {path})")
        entry: dict[str, Any] = {name: data[name] for name in KERNEL_DATASETS if name in data}
        if reference_lags is None:
            reference_lags = entry["tau_ms"]
        elif not np.array_equal(reference_lags, entry["tau_ms"]):
            raise ValueError(f"{path}: lags tau_ms differ from those of the other kernel files")
        entry["attrs"] = attrs
        entry["units"] = data["units"]
        kernels[key] = entry
    return kernels
