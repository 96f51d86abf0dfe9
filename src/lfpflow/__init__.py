"""lfpflow: predict LFP, CSD, current dipole moment, EEG and MEG from spiking networks.

The package is organised one module per concept (see ../shared/ARCHITECTURE.md
and the README). Only :mod:`lfpflow.network` imports NEST and only
:mod:`lfpflow.kernels` imports NEURON/LFPy/LFPykernels, so everything else
imports in well under a second.
"""

__version__ = "0.1.0"
