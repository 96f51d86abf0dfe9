"""Signals with numpy only: spike files, population rates, the forward model, analysis.

Nothing here imports a simulator: every file the simulators write can be read,
convolved and analysed without NEST or NEURON.
"""
