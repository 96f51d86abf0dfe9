"""lfpflow: predict LFP, CSD, current dipole moment, EEG and MEG from spiking networks.

The package is organised one module per concept (see the README's "Layout").
NEST is imported only by :mod:`lfpflow.pointneuron.network` and :mod:`lfpflow.pointneuron.single_neuron`
(inside functions), NEURON/LFPy/LFPykernels only by :mod:`lfpflow.multicompartment.kernels`, and
pynestml only by :mod:`lfpflow.pointneuron.nestml_build` (in a child process), so everything
else imports in well under a second.
"""

__version__ = "0.1.0"
