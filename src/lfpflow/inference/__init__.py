"""Simulation-based inference of network parameters from LFP, CSD, CDM or EEG.

The kernel route makes a simulation cheap: one NEST run of a small network and
a convolution with kernels computed once. :mod:`lfpflow.inference.checks` checks
the ``inference`` section and gives the simulated configuration;
:mod:`~lfpflow.inference.setup` the prior, the seeds and the batches;
:mod:`~lfpflow.inference.simulator` simulates batches of draws;
:mod:`~lfpflow.inference.features` computes the features (Welch spectrum,
aperiodic fit and peaks, band powers, catch22) of simulations and observation
alike; :mod:`~lfpflow.inference.observation` reads an observation file;
:mod:`~lfpflow.inference.estimator` (the only module importing torch and sbi)
trains neural posterior estimation; :mod:`~lfpflow.inference.validation`
measures recovery and calibration.
"""
