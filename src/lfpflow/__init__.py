"""lfpflow: predict LFP, CSD, current dipole moment, EEG and MEG from spiking networks.

Subpackages follow the simulator boundaries (docs/architecture.md):

- :mod:`lfpflow.config`: schemas with every default, overlays, checks, stage views;
- :mod:`lfpflow.pointneuron`: NEST (the network, single neurons, NESTML builds);
- :mod:`lfpflow.multicompartment`: NEURON, LFPy, LFPykernels (kernels, ground truth);
- :mod:`lfpflow.signals`: numpy only (spikes, rates, forward model, analysis);
- :mod:`lfpflow.figures`: matplotlib figures of the LFP pipeline;
- :mod:`lfpflow.v1`: the V1 model with dendritic nonlinearities, independent.

Simulators are imported inside functions only, so importing any module is cheap.
"""

__version__ = "0.1.0"
