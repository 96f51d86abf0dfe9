"""Multicompartment cells with NEURON, LFPy and LFPykernels: kernels and ground truth.

:mod:`~lfpflow.multicompartment.cells` sets NEURON up (mechanisms, cell template,
cell parameters) for :mod:`~lfpflow.multicompartment.kernels` (LFPykernels'
KernelApprox, with the probes of :mod:`~lfpflow.multicompartment.kernel_probes`)
and :mod:`~lfpflow.multicompartment.groundtruth` (an LFPy network).
:mod:`~lfpflow.multicompartment.morphology` reads the morphology files and
decides their folder; :mod:`~lfpflow.multicompartment.checks` holds the
configuration rules of cells, kernels and ground truth. The simulators are
imported inside functions only.
"""
