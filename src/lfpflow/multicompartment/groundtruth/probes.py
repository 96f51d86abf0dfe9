"""The ground truth's probes: LFP, CDM and the optional recordings, every time step.

LFPy's ``Network.simulate(probes=...)`` reads every segment's current in a
Python loop each time step, which dominated the cost (measured, see
docs/groundtruth.md). :class:`Probes` instead gathers all ``i_membrane_``
values with one ``PtrVector.gather`` per step and maps them with one matrix
product per population: the LFP at the contacts ``kernels.probes.lfp.z_um`` on
the column axis (LFPykit's ``RecExtElectrode``, line sources,
``sigma_S_per_m``) and the current dipole moment (``CurrentDipoleMoment``),
per postsynaptic population.

Units: time ms, lengths um, currents nA, potentials mV, LFP mV, CDM nA*um.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from lfpflow.multicompartment.groundtruth.description import Recording, RunSettings
from lfpflow.multicompartment.groundtruth.network import BuiltNetwork


class _MeanPotential:
    """Running time average of every segment's potential (mV) after the transient."""

    def __init__(
        self, net: BuiltNetwork, seg_ranges: Mapping[str, tuple[int, int]], first_step: int
    ):
        h = net.h
        n_total = max(b for _, b in seg_ranges.values())
        self.ptr = h.PtrVector(n_total)
        index = 0
        for name in net.names:
            for cell in net.cells[name]:
                for sec in cell.allseclist:
                    for seg in sec:
                        self.ptr.pset(index, seg._ref_v)
                        index += 1
        self.buffer = h.Vector(n_total)
        self.first_step = first_step
        self.sizes = net.sizes
        self.seg_ranges = seg_ranges
        self.v_sum = np.zeros(n_total)
        per_cell = {name: (b - a) // net.sizes[name] for name, (a, b) in seg_ranges.items()}
        self.pop_sq = {name: np.zeros(n) for name, n in per_cell.items()}
        self.pop_sum = {name: np.zeros(n) for name, n in per_cell.items()}

    def add(self, step: int) -> None:
        """Accumulate the potentials of this step (from ``first_step`` on)."""
        if step < self.first_step:
            return
        self.ptr.gather(self.buffer)
        v_now = self.buffer.as_numpy()
        self.v_sum += v_now
        for name, (a, b) in self.seg_ranges.items():
            per_cell = v_now[a:b].reshape(self.sizes[name], -1).mean(axis=0)
            self.pop_sum[name] += per_cell
            self.pop_sq[name] += per_cell**2

    def result(self, net: BuiltNetwork, n_steps: int) -> dict[str, dict[str, Any]]:
        """Population -> ``v_mV``, ``v_sd_mV``, ``soma_v_mV`` (mV), ``z_rel_um``, ``area_um2``,
        ``section`` (see :func:`lfpflow.multicompartment.groundtruth.simulate_groundtruth`)."""
        n_v = n_steps - self.first_step
        out = {}
        for name, (a, b) in self.seg_ranges.items():
            per_cell = (self.v_sum[a:b] / n_v).reshape(self.sizes[name], -1)
            cell = net.cells[name][0]
            mean = self.pop_sum[name] / n_v
            out[name] = {
                "v_mV": per_cell.mean(axis=0),
                "v_sd_mV": np.sqrt(np.maximum(self.pop_sq[name] / n_v - mean**2, 0.0)),
                "soma_v_mV": per_cell[:, int(cell.get_idx("soma")[0])],
                "z_rel_um": cell.z.mean(axis=-1) - cell.somapos[2],
                "area_um2": np.asarray(cell.area, dtype=float),
                "section": net.section_names[name],
            }
        return out


class Probes:
    """LFP and CDM of every population, read once per time step, and optional recordings.

    All ``i_membrane_`` values are gathered with one ``PtrVector.gather`` and
    mapped with one matrix product per population: LFPy's own probes read
    every segment in a Python loop each step, which dominated the cost.
    """

    def __init__(
        self,
        net: BuiltNetwork,
        lfp: Mapping[str, Any],
        recording: Recording,
        run: RunSettings,
    ) -> None:
        h, n_steps = net.h, run.n_steps
        self.z_um = np.asarray(lfp["z_um"], dtype=float)
        self.transforms, segments, self.cell_slices = _probe_transforms(
            net, self.z_um, float(lfp["sigma_S_per_m"])
        )
        self.seg_ranges = {}
        offset = 0
        for name in net.names:
            self.seg_ranges[name] = (offset, offset + self.transforms[name].shape[1])
            offset += self.transforms[name].shape[1]
        self.n_total = offset
        h.CVode().use_fast_imem(1)  # i_membrane_ exists only from here on
        self.ptr = h.PtrVector(self.n_total)
        for index, seg in enumerate(segments):
            self.ptr.pset(index, seg._ref_i_membrane_)
        self.buffer = h.Vector(self.n_total)
        self.starts = np.array([a for a, _ in self.cell_slices])
        self.output = {name: np.zeros((self.z_um.size + 3, n_steps)) for name in net.names}
        self.imem = [
            np.zeros((b - a, n_steps)) for a, b in self.cell_slices[: recording.imem_cells]
        ]
        self.somav = {
            name: [
                h.Vector().record(next(iter(cell.somalist))(0.5)._ref_v, run.dt_ms)
                for cell in net.cells[name][: recording.somav_cells]
            ]
            for name in net.names
        }
        self.mean_v = (
            _MeanPotential(net, self.seg_ranges, run.first_average_step)
            if recording.mean_v
            else None
        )
        self.synapses = {}  # pathway -> (PtrVector of i, of g), buffer, (2 x time) sums
        for key, objects in net.sampled_synapses.items():
            pair = (h.PtrVector(len(objects)), h.PtrVector(len(objects)))
            for k, syn in enumerate(objects):
                pair[0].pset(k, syn._ref_i)
                pair[1].pset(k, syn._ref_g)
            self.synapses[key] = (pair, h.Vector(len(objects)), np.zeros((2, n_steps)))
        #: largest |sum of a cell's membrane currents| / sum of their magnitudes so far
        self.worst = 0.0

    def sample(self, step: int) -> None:
        """Read the membrane currents (and the optional recordings) of this step."""
        self.ptr.gather(self.buffer)
        imem = self.buffer.as_numpy()
        for name, (a, b) in self.seg_ranges.items():
            self.output[name][:, step] = self.transforms[name] @ imem[a:b]
        # current conservation: per cell |sum of currents| / sum of |currents|
        sums = np.abs(np.add.reduceat(imem, self.starts))
        magnitudes = np.add.reduceat(np.abs(imem), self.starts)
        positive = magnitudes > 0
        if step > 0 and positive.any():
            # (at t = 0 NEURON's i_membrane_ holds the ionic currents only)
            self.worst = max(self.worst, float((sums[positive] / magnitudes[positive]).max()))
        for k, (a, b) in enumerate(self.cell_slices[: len(self.imem)]):
            self.imem[k][:, step] = imem[a:b]
        for (ptr_i, ptr_g), syn_buffer, series in self.synapses.values():
            ptr_i.gather(syn_buffer)
            series[0, step] = syn_buffer.sum()
            ptr_g.gather(syn_buffer)
            series[1, step] = syn_buffer.sum()
        if self.mean_v is not None:
            self.mean_v.add(step)

    def release(self) -> None:
        """Drop the hoc pointers before the sections they point into are deleted."""
        self.ptr = self.buffer = self.mean_v = None
        self.somav = {}
        self.synapses = {}


def _probe_transforms(
    net: BuiltNetwork, z_um: np.ndarray, sigma_S_per_m: float
) -> tuple[dict[str, np.ndarray], list[Any], list[tuple[int, int]]]:
    """Per population: the (contacts + 3) x segments map of ``i_membrane_`` to LFP and CDM.

    Returns the maps (LFP in mV, line sources on the column axis, then CDM
    in nA*um, for all cells of the population side by side), every segment in
    the same order and each cell's slice of that order.
    """
    from lfpykit import CurrentDipoleMoment, RecExtElectrode

    transforms, segments, cell_slices = {}, [], []
    for name in net.names:
        blocks = []
        for cell in net.cells[name]:
            electrode = RecExtElectrode(
                cell,
                x=np.zeros_like(z_um),
                y=np.zeros_like(z_um),
                z=z_um,
                sigma=sigma_S_per_m,
                method="linesource",
            )
            blocks.append(
                np.vstack(
                    [
                        electrode.get_transformation_matrix(),
                        CurrentDipoleMoment(cell).get_transformation_matrix(),
                    ]
                )
            )
            cell_slices.append((len(segments), len(segments) + cell.totnsegs))
            segments.extend(seg for sec in cell.allseclist for seg in sec)
        transforms[name] = np.hstack(blocks)
    return transforms, segments, cell_slices
