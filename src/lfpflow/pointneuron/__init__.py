"""Point neurons with NEST: model catalogue, input protocols, network, single neurons.

``nest`` is imported inside functions only (``catalogue`` and ``inputs`` hold data
and helpers usable without it); ``pynestml`` runs in a child process
(:mod:`lfpflow.pointneuron.nestml_build`).
"""
