"""Multicompartment cells with NEURON, LFPy and LFPykernels: kernels and ground truth.

:mod:`~lfpflow.multicompartment.cells` sets NEURON up (mechanisms, cell template,
cell parameters) for :mod:`~lfpflow.multicompartment.kernels` (LFPykernels'
KernelApprox) and :mod:`~lfpflow.multicompartment.groundtruth` (an LFPy network).
The simulators are imported inside functions only.
"""
