"""Many simulations of the point-neuron network in one process.

Simulation-based inference (:mod:`lfpflow.inference`) simulates the network at
hundreds of parameter draws. Starting one Python process (and importing NEST)
per draw would cost more than a small network's simulation, so a batch of
draws runs here, in one process, one after the other: NEST's kernel is reset
between draws (:func:`lfpflow.pointneuron.network.simulate_network` does so),
so each draw is exactly the simulation a separate process would have run with
the same configuration and seed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from lfpflow.pointneuron.network import simulate_network
from lfpflow.signals.spikes import NetworkSpikes


def simulate_many(
    configs: Iterable[Mapping[str, Any]], *, nestml_module_dir: str | Path | None = None
) -> Iterator[NetworkSpikes]:
    """Simulate the network once per configuration, in this process.

    Parameters
    ----------
    configs : iterable of Mapping
        Network stage configurations (``stage_config(resolved, "network")``),
        each with its own ``seed``; consumed lazily, so a caller can build the
        next configuration after looking at the previous result.
    nestml_module_dir : path-like, optional
        Folder of our compiled NESTML module, when a population needs it.

    Yields
    ------
    NetworkSpikes
        The spikes of each configuration, in order.
    """
    for config in configs:
        yield simulate_network(config, nestml_module_dir=nestml_module_dir)
