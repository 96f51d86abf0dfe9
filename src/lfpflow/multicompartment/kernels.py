"""Spike-to-signal kernels of the multicompartment (MC) network description.

A kernel :math:`H_{YX}(\\tau)` maps the spike count per time bin of a
presynaptic population ``X`` to the contribution to a measurement (LFP, CSD,
current dipole moment) of the synapses it makes onto the postsynaptic
population ``Y``, so that a signal is :math:`\\sum_X \\sum_Y \\nu_X * H_{YX}`
(Hagen et al. 2022, PLOS Comput Biol 18:e1010353). Kernels are
computed with LFPykernels' ``KernelApprox``, which represents the whole
population ``Y`` by one passive cell of ``Y``'s morphology receiving, at one
instant, every synapse that one presynaptic spike of ``X`` activates in the
population, each current linearised around the rest potential and spread over
the compartments in proportion to membrane area times the configured synapse
density along depth. The response is convolved with the distribution of
conduction delays, so a kernel is zero before the shortest delay.

NEURON, LFPy and LFPykernels are imported inside functions (here, in
:mod:`lfpflow.multicompartment.cells` and
:mod:`lfpflow.multicompartment.kernel_probes`): importing this module loads no
simulator and compiles nothing.

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
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from lfpflow.config.scopes import pathway_key
from lfpflow.multicompartment.cells import (
    cell_parameters,
    define_cell_template,
    load_mechanisms,
    loadable_cell_parameters,
)
from lfpflow.multicompartment.checks import kernel_lags_on_grid
from lfpflow.multicompartment.kernel_probes import kernel_probes, probe_settings
from lfpflow.multicompartment.morphology import morphology_dir as resolve_morphology_dir

log = logging.getLogger(__name__)


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


def _check_pathway(kernel_config: Mapping[str, Any], post: str, pre: str) -> None:
    """Refuse a pathway between populations the kernel description does not declare.

    Parameters
    ----------
    kernel_config : Mapping
        Kernel description (:func:`lfpflow.config.kernel_description`).
    post, pre : str
        Postsynaptic (``Y``) and presynaptic (``X``) population names, as given
        by the caller of :func:`compute_kernel`.

    Raises
    ------
    ValueError
        If ``post`` or ``pre`` is not one of ``kernel_config["populations"]``.
    """
    populations = list(kernel_config["populations"])
    for role, name in (("post", post), ("pre", pre)):
        if name not in populations:
            raise ValueError(
                f"{role}={name!r} is not a population; allowed values: {', '.join(populations)}"
            )


def _synapse_parameters(kernel_config: Mapping[str, Any], post: str, pre: str) -> dict[str, Any]:
    """``KernelApprox`` synapse parameters of the synapses ``pre`` makes onto ``post``.

    Parameters
    ----------
    kernel_config : Mapping
        Kernel description (validated).
    post, pre : str
        Postsynaptic and presynaptic population.

    Returns
    -------
    dict
        Conductance-based: ``Exp2Syn`` with ``weight`` (uS), ``tau1``,
        ``tau2`` (ms) and ``e`` (mV). Current-based: ``CurrExp2Syn`` with
        ``weight`` (nA, :func:`current_synapse_weight_nA` at
        ``cell.Vrest_mV``), ``tau1`` and ``tau2`` (ms).
    """
    synapse = kernel_config["synapses"][pre]
    tau1, tau2 = float(synapse["tau1_ms"]), float(synapse["tau2_ms"])
    e_rev = float(synapse["e_rev_mV"])
    weight_uS = float(kernel_config["weights_uS"][pathway_key(post, pre)])
    if kernel_config["synapse_type"] == "conductance":
        return {"weight": weight_uS, "syntype": "Exp2Syn", "tau1": tau1, "tau2": tau2, "e": e_rev}
    vrest = float(kernel_config["cell"]["Vrest_mV"])
    return {
        "weight": current_synapse_weight_nA(weight_uS, vrest, e_rev),
        "syntype": "CurrExp2Syn",
        "tau1": tau1,
        "tau2": tau2,
    }


def _external_synapse_parameters(external: Mapping[str, Any]) -> dict[str, Any]:
    """``Exp2Syn`` parameters of the external synapses (``kernels.external``).

    Parameters
    ----------
    external : Mapping
        ``kernels.external``: ``weight_uS`` (uS), ``tau1_ms``, ``tau2_ms``
        (ms), ``e_rev_mV`` (mV).

    Returns
    -------
    dict
        ``syntype``, ``weight`` (uS), ``tau1``, ``tau2`` (ms), ``e`` (mV).
    """
    return {
        "syntype": "Exp2Syn",
        "weight": float(external["weight_uS"]),
        "tau1": float(external["tau1_ms"]),
        "tau2": float(external["tau2_ms"]),
        "e": float(external["e_rev_mV"]),
    }


def _presynaptic_rates_Hz(
    kernel_config: Mapping[str, Any], presynaptic: list[str]
) -> dict[str, float]:
    """Mean rate (Hz) of each presynaptic population; rates enter only through ``g_eff``.

    Returns
    -------
    dict
        Population -> ``kernels.presynaptic_rates_Hz[population]`` with
        ``g_eff``, 0.0 without.
    """
    rates = kernel_config["presynaptic_rates_Hz"]
    g_eff = bool(kernel_config["g_eff"])
    return {x: float(rates[x]) if g_eff else 0.0 for x in presynaptic}


def _multapse_arguments(multapse: Mapping[str, Any]) -> dict[str, float]:
    """``scipy.stats.truncnorm`` arguments for the synapses per connection.

    Parameters
    ----------
    multapse : Mapping
        ``kernels.multapses[key]``: ``mean``, ``sd``, ``min``, ``max``
        (synapses per connection).

    Returns
    -------
    dict
        ``a``, ``b`` (standardised bounds), ``loc``, ``scale``.
    """
    mean, sd = float(multapse["mean"]), float(multapse["sd"])
    low, high = float(multapse["min"]), float(multapse["max"])
    return {"a": (low - mean) / sd, "b": (high - mean) / sd, "loc": mean, "scale": sd}


def _delay_arguments(delay: Mapping[str, Any]) -> dict[str, float]:
    """``scipy.stats.truncnorm`` arguments for the conduction delays (ms).

    Parameters
    ----------
    delay : Mapping
        ``kernels.delays[key]``: ``mean_ms``, ``sd_ms``, ``min_ms`` (ms).

    Returns
    -------
    dict
        ``a``, ``b`` (standardised bounds; truncated to ``[min_ms, inf)``),
        ``loc`` (ms), ``scale`` (ms).
    """
    mean, sd = float(delay["mean_ms"]), float(delay["sd_ms"])
    low = float(delay["min_ms"])
    return {"a": (low - mean) / sd, "b": np.inf, "loc": mean, "scale": sd}


def _position_arguments(position: Mapping[str, Any]) -> dict[str, Any]:
    """``get_rand_idx_area_and_distribution_prob`` arguments for a pathway's synapses.

    Parameters
    ----------
    position : Mapping
        ``kernels.synapse_positions[key]``: ``sections``, and per component
        of the depth density ``z_mean_um``, ``z_sd_um`` (um) and ``weights``.

    Returns
    -------
    dict
        ``section``, ``fun`` (``scipy.stats.norm`` per component),
        ``funargs`` (``loc``, ``scale`` in um), ``funweights``.
    """
    import scipy.stats as st

    z_means, z_sds = list(position["z_mean_um"]), list(position["z_sd_um"])
    return {
        "section": list(position["sections"]),
        "fun": [st.norm] * len(z_means),
        "funargs": [
            {"loc": float(m), "scale": float(s)} for m, s in zip(z_means, z_sds, strict=True)
        ],
        "funweights": [float(w) for w in position["weights"]],
    }


def _approx_parameters(
    kernel_config: Mapping[str, Any], post: str, cell: Mapping[str, Any]
) -> dict[str, Any]:
    """Keyword arguments of ``lfpykernels.KernelApprox`` for postsynaptic ``post``.

    Every population is presynaptic to ``post`` (the configuration describes
    all pathways); all of them add to the effective membrane conductance.

    Parameters
    ----------
    kernel_config : Mapping
        Kernel description (validated).
    post : str
        Postsynaptic population (``Y``).
    cell : Mapping
        LFPy cell parameters (:func:`lfpflow.multicompartment.cells.cell_parameters`).

    Returns
    -------
    dict
        ``X``, ``Y``, sizes ``N_X``, ``N_Y``, probabilities ``C_YX``, cell,
        population (um) and rotation parameters, multapse, delay (ms), synapse
        and synapse-position arguments per presynaptic population, external
        synapse, ``nu_ext`` (Hz), ``n_ext``, ``nu_X`` (Hz),
        ``conductance_based``.
    """
    import scipy.stats as st

    presynaptic = list(kernel_config["populations"])
    keys = [pathway_key(post, x) for x in presynaptic]
    sizes = {name: float(pop["size"]) for name, pop in kernel_config["populations"].items()}
    geometry = kernel_config["populations"][post]
    external = kernel_config["external"]
    return {
        "X": presynaptic,
        "Y": post,
        "N_X": np.array([sizes[x] for x in presynaptic]),
        "N_Y": sizes[post],
        "C_YX": np.array([float(kernel_config["connection_probability"][k]) for k in keys]),
        "cellParameters": dict(cell),
        "populationParameters": {
            "radius": float(geometry["radius_um"]),
            "loc": float(geometry["soma_z_mean_um"]),
            "scale": float(geometry["soma_z_sd_um"]),
        },
        "rotationParameters": {"x": 0.0, "y": 0.0},
        "multapseFunction": st.truncnorm,
        "multapseParameters": [_multapse_arguments(kernel_config["multapses"][k]) for k in keys],
        "delayFunction": st.truncnorm,
        "delayParameters": [_delay_arguments(kernel_config["delays"][k]) for k in keys],
        "synapseParameters": [_synapse_parameters(kernel_config, post, x) for x in presynaptic],
        "synapsePositionArguments": [
            _position_arguments(kernel_config["synapse_positions"][k]) for k in keys
        ],
        "extSynapseParameters": _external_synapse_parameters(external),
        "nu_ext": float(external["nu_Hz"]),
        "n_ext": float(external["n_ext"][post]),
        "nu_X": _presynaptic_rates_Hz(kernel_config, presynaptic),
        "conductance_based": kernel_config["synapse_type"] == "conductance",
    }


def kernel_approx_arguments(
    kernel_config: Mapping[str, Any],
    *,
    post: str,
    pre: str,
    morphology_dir: Path | None = None,
) -> dict[str, Any]:
    """Translate a validated kernel description for one pathway.

    Needs no simulator. The configuration is not checked again
    (:func:`lfpflow.resolve.resolve_config` did); only the pathway names and
    the morphology file, inputs of this function, are.

    Parameters
    ----------
    kernel_config : Mapping
        Kernel description (:func:`lfpflow.config.kernel_description`).
    post, pre : str
        Postsynaptic (``Y``) and presynaptic (``X``) population names.
    morphology_dir : Path, optional
        Folder with the morphology files named in ``populations[*].morphology``;
        None: :func:`lfpflow.multicompartment.morphology.morphology_dir`.

    Returns
    -------
    dict
        ``"approx"``: keyword arguments of ``lfpykernels.KernelApprox``;
        ``"vrest_mV"`` (mV), ``"g_eff"``, ``"tau_ms"`` (half-width, ms); ``"probes"``:
        :func:`probe_settings`.

    Raises
    ------
    ValueError
        If ``post`` or ``pre`` is not a population, or the CSD is asked for
        with fewer than two distinct contact depths.
    FileNotFoundError
        If the morphology file of ``post`` does not exist.
    """
    _check_pathway(kernel_config, post, pre)
    cell = cell_parameters(kernel_config, post, resolve_morphology_dir(morphology_dir))
    if not Path(cell["morphology"]).is_file():
        raise FileNotFoundError(
            f"morphology of population {post!r} (populations.{post}.cell.morphology): "
            f"no file {cell['morphology']}"
        )
    return {
        "approx": _approx_parameters(kernel_config, post, cell),
        "vrest_mV": float(kernel_config["cell"]["Vrest_mV"]),
        "g_eff": bool(kernel_config["g_eff"]),
        "tau_ms": float(kernel_config["tau_ms"]),
        "probes": probe_settings(kernel_config, post),
    }


# --------------------------------------------------------------------------
# kernels
# --------------------------------------------------------------------------


def _lag_window(tau_ms: float, dt_ms: float) -> tuple[np.ndarray, float]:
    """Kernel lags (ms) and the half-width on the lag grid.

    Parameters
    ----------
    tau_ms : float
        Kernel half-width (ms), ``kernels.tau_ms``.
    dt_ms : float
        Lag step (ms), an argument of :func:`compute_kernel`.

    Returns
    -------
    lags_ms : ndarray
        ``-tau..tau`` in steps of ``dt_ms`` (ms), see :func:`lag_times_ms`.
    tau_ms : float
        ``round(tau / dt) * dt`` (ms).

    Raises
    ------
    ValueError
        If ``dt_ms`` is not positive or ``tau_ms`` is not a positive whole
        number of ``dt_ms`` (:func:`lfpflow.multicompartment.checks.kernel_lags_on_grid`,
        the rule the configuration check applies).
    """
    if not (dt_ms > 0 and kernel_lags_on_grid(tau_ms, dt_ms)):
        raise ValueError(
            f"kernels.tau_ms ({tau_ms}) must be a positive whole number of "
            f"simulation.dt_ms ({dt_ms})"
        )
    return lag_times_ms(tau_ms, dt_ms), round(tau_ms / dt_ms) * dt_ms


def _run_kernel_approx(
    setup: Mapping[str, Any], probes: list[Any], *, pre: str, dt_ms: float, tau_ms: float
) -> dict[str, np.ndarray]:
    """Run ``KernelApprox.get_kernel`` for presynaptic ``pre`` (NEURON must be set up).

    Parameters
    ----------
    setup : Mapping
        :func:`kernel_approx_arguments`.
    probes : list
        :func:`lfpflow.multicompartment.kernel_probes.kernel_probes`.
    pre : str
        Presynaptic population.
    dt_ms, tau_ms : float
        Time step and kernel half-width (ms).

    Returns
    -------
    dict
        Probe class name -> kernel (n_channels x n_lags).
    """
    import lfpykernels

    arguments = dict(setup["approx"])
    arguments["cellParameters"] = loadable_cell_parameters(arguments["cellParameters"])
    approx = lfpykernels.KernelApprox(**arguments)
    try:
        return approx.get_kernel(
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


def _kernel_result(
    responses: Mapping[str, Any],
    probe_setup: Mapping[str, Any],
    lags_ms: np.ndarray,
    dt_ms: float,
) -> dict[str, np.ndarray]:
    """Collect the probe responses into the arrays :func:`compute_kernel` returns.

    Parameters
    ----------
    responses : Mapping
        :func:`_run_kernel_approx`.
    probe_setup : Mapping
        :func:`probe_settings`.
    lags_ms : ndarray
        Expected lags (ms).
    dt_ms : float
        Lag step (ms), for the error message.

    Returns
    -------
    dict of ndarray
        ``LFP`` (mV), ``CDM`` (nA*um), ``CSD`` (nA/um^3) as asked for,
        ``lags_ms`` (ms) and ``z_um`` (um).

    Raises
    ------
    RuntimeError
        If a kernel does not have ``lags_ms.size`` lags.
    """
    result: dict[str, np.ndarray] = {
        "LFP": np.asarray(responses["GaussCylinderPotential"], dtype=float)
    }
    if probe_setup["cdm"]:
        result["CDM"] = np.asarray(responses["KernelApproxCurrentDipoleMoment"], dtype=float)
    if probe_setup["csd"]:
        result["CSD"] = np.asarray(responses["GaussCylinderCSD"], dtype=float)
    for name, values in result.items():
        if values.shape[-1] != lags_ms.size:
            # LFPy selects the lag window by comparing float times, which can
            # miss an end point when dt is not a power of two.
            raise RuntimeError(
                f"{name} kernel has {values.shape[-1]} lags, expected {lags_ms.size}; "
                f"use a dt_ms that is a power of two (got {dt_ms})"
            )
    result["lags_ms"] = lags_ms
    result["z_um"] = np.array(probe_setup["z_um"], dtype=float)
    return result


def compute_kernel(
    kernel_config: Mapping[str, Any],
    *,
    post: str,
    pre: str,
    dt_ms: float,
    mechanisms_dir: Path,
    morphology_dir: Path | None = None,
) -> dict[str, np.ndarray]:
    """Spike-to-signal kernel of presynaptic ``pre`` onto postsynaptic ``post``.

    Builds LFPykernels' ``KernelApprox`` for the pathway (Hagen et al. 2022):
    one passive cell of ``post`` at the mean soma depth receives at lag 0 all
    ``C_YX * N_Y * mean multapses`` synapses one spike of ``pre`` activates,
    spread over the compartments in proportion to area times the configured
    depth density (widened by the soma-depth spread). With ``g_eff`` the leak
    conductance is raised by the mean conductance of all recurrent (at
    ``kernels.presynaptic_rates_Hz``) and external synapses onto ``post``.
    Membrane currents are mapped to the LFP (``GaussCylinderPotential``: a
    disc of radius ``populations[post].radius_um``, depths normal with
    its ``soma_z_sd_um``), the CDM (``KernelApproxCurrentDipoleMoment``; x and y
    rows zero by symmetry) and the CSD (:class:`GaussCylinderCSD`), then
    convolved with the delay distribution (normal truncated below at
    ``min_ms``), so every kernel is zero for lags shorter than the shortest
    delay (the first nonzero lag is about two steps later: NEURON records
    currents one step late). ``synapse_type: conductance`` synapses are
    linearised by ``KernelApprox`` around ``cell.Vrest_mV``; ``current`` ones
    are our ``CurrExp2Syn`` with the same current at rest
    (:func:`current_synapse_weight_nA`), exactly linear in the weights.

    Parameters
    ----------
    kernel_config : Mapping
        Kernel description of a validated configuration
        (:func:`lfpflow.config.kernel_description`); not checked again.
    post, pre : str
        Postsynaptic (``Y``) and presynaptic (``X``) population.
    dt_ms : float
        Lag step (ms), the simulation's ``dt_ms`` (also NEURON's time step).
    mechanisms_dir : Path
        Output of ``cells.compile_mechanisms``; loaded once per process.
    morphology_dir : Path, optional
        Folder with the morphology files named in ``populations[*].morphology``;
        None: :func:`lfpflow.multicompartment.morphology.morphology_dir`.

    Returns
    -------
    dict of ndarray
        ``"LFP"`` (n_contacts x n_lags, mV), ``"CDM"`` (3 x n_lags, nA*um; if
        ``probes.cdm``), ``"CSD"`` (n_contacts x n_lags, nA/um^3; if
        ``probes.csd``), ``"lags_ms"`` (the lags, :func:`lag_times_ms`, ms) and
        ``"z_um"`` (contact depths, um). Each kernel is the response of the
        whole postsynaptic population to one presynaptic spike.

    Raises
    ------
    ValueError
        Before NEURON is loaded: ``post`` or ``pre`` is not a population, or
        ``kernels.tau_ms`` is not a positive whole number of ``dt_ms``.
    FileNotFoundError
        If the morphology file of ``post`` does not exist.
    """
    setup = kernel_approx_arguments(
        kernel_config, post=post, pre=pre, morphology_dir=morphology_dir
    )
    lags_ms, tau_ms = _lag_window(setup["tau_ms"], dt_ms)
    started = time.perf_counter()
    load_mechanisms(Path(mechanisms_dir))
    define_cell_template()
    probes = kernel_probes(setup["probes"])
    responses = _run_kernel_approx(setup, probes, pre=pre, dt_ms=dt_ms, tau_ms=tau_ms)
    result = _kernel_result(responses, setup["probes"], lags_ms, dt_ms)
    log.info(
        "kernel %s computed in %.2f s: max|LFP| = %.3g mV%s",
        pathway_key(post, pre),
        time.perf_counter() - started,
        np.abs(result["LFP"]).max(),
        f", max|CDM_z| = {np.abs(result['CDM'][2]).max():.3g} nA*um" if "CDM" in result else "",
    )
    return result
