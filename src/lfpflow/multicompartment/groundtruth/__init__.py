"""Ground truth: a downscaled multicompartment (MC) network simulated with NEURON/LFPy.

The kernel route (:mod:`lfpflow.multicompartment.kernels`,
:mod:`lfpflow.signals.forward`) approximates the extracellular signals of a
network of multicompartment cells by convolving population spike counts with
linearised, population-averaged kernels (Hagen et al. 2022, PLOS Comput Biol
18:e1010353). This package simulates that network itself, from the same
``kernels:`` description, so the approximation can be checked:

* cells: each population's morphology (``populations.<X>.cell``) in an
  ``LFPy.Network`` (``LFPy.NetworkCell``), passive membrane everywhere
  (``kernels.cell`` and the population's overrides), plus NEURON's built-in
  Hodgkin-Huxley ``hh`` in the soma (``groundtruth.soma``) so that the cells
  spike; somata uniform on a disc of the population's ``radius_um``, depths
  normal (its ``soma_z_mean_um``, ``soma_z_sd_um``); NEURON has one
  temperature, ``groundtruth.soma.celsius_degC``;
* recurrent synapses: ``Exp2Syn`` (or our ``CurrExp2Syn`` for
  ``synapse_type: current``) with the configured kinetics and weights;
  connections drawn pairwise with probability ``p_YX / scale`` (the expected
  in-degree of the full network is kept, times ``groundtruth.k_scale``), no
  autapses; synapses per connection from the truncated normal of ``kernels.multapses`` (evaluated at
  1..99 like LFPy and LFPykernels), delays from the truncated normal of
  ``kernels.delays``, positions drawn per synapse with probability
  proportional to segment area times the depth density of
  ``kernels.synapse_positions``;
* external drive: ``kernels.external.n_ext[Y]`` independent Poisson trains of
  ``nu_Hz`` per cell onto ``Exp2Syn`` synapses placed uniformly by membrane
  area (as in the LFPykernels example networks);
* probes: the LFP at the contacts ``kernels.probes.lfp.z_um`` on the column
  axis (LFPy's ``RecExtElectrode``, line sources, ``sigma_S_per_m``), the
  current dipole moment (``CurrentDipoleMoment``), per postsynaptic
  population, every time step.

Implementation notes (measured here, see docs/groundtruth.md): LFPy's
``Network.simulate(probes=...)`` reads every segment's current in a Python
loop each time step, which dominated the cost. The ground truth instead gathers
all ``i_membrane_`` values with one ``PtrVector.gather`` per step and maps
them with one matrix product per population. Synapses of one pathway on the
same segment share one synapse object (each connection keeps its own
``NetCon`` with its own weight and delay; ``Exp2Syn`` is linear in its input
events, so this is exact), and the external Poisson trains of one segment are
merged into one train of the summed rate (the superposition of independent
Poisson processes is Poisson), delivered with ``NetCon.event`` in chunks.
NEURON runs with ``groundtruth.n_threads`` threads (``ParallelContext.nthread``).

Units: time ms, lengths um, conductances uS, currents nA, potentials mV,
LFP mV, CDM nA*um, EEG uV, MEG fT.

The package, in layers (each module imports only those above it):
:mod:`~lfpflow.multicompartment.groundtruth.description` (numpy only: scaled
description, connection probabilities, draws, seeds, linearisation state, run
settings), :mod:`~lfpflow.multicompartment.groundtruth.compensation` (the
compensating currents of ``k_scale``, numpy only),
:mod:`~lfpflow.multicompartment.groundtruth.network` (the NEURON network),
:mod:`~lfpflow.multicompartment.groundtruth.probes`,
:mod:`~lfpflow.multicompartment.groundtruth.simulation` (the time loop) and
:mod:`~lfpflow.multicompartment.groundtruth.outputs` (files, kernels). NEURON
and LFPy are imported inside functions only; importing the package loads no
simulator.
"""

from __future__ import annotations

import importlib
from typing import Any

#: Public name -> the module of this package that defines it. Loaded on first
#: use, so that the configuration checks (which need only the numpy
#: ``description``) do not import the simulation and its file code.
_EXPORTS = {
    "RunSettings": "description",
    "compute_groundtruth_kernel": "outputs",
    "groundtruth_attrs": "outputs",
    "groundtruth_kernel_config": "description",
    "groundtruth_signals": "outputs",
    "linearisation_potentials": "description",
    "multapse_probabilities": "description",
    "network_replay": "description",
    "pathway_kernel_config": "outputs",
    "scaled_network_probabilities": "description",
    "segment_probabilities": "description",
    "simulate_groundtruth": "simulation",
    "simulate_groundtruth_to_files": "outputs",
    "synapse_weighted_potential": "description",
    "usable_threads": "description",
}

__all__ = sorted([*_EXPORTS, "compensation"])


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value
