"""Write lfpflow's layered microcircuit cells and the test cells of other formats.

    python morphologies/make_layered.py                      # writes the files here
    python morphologies/make_layered.py --binzegger T.json   # also prints synapse positions

Cells (one per population of the Potjans & Diesmann 2014 microcircuit):
pyramidal cells (L23E, L4E, L5E, L6E) are a soma, a basal stick and an apical
trunk that rises through the layers above to a tuft (L23E, L4E, L5E: in layer
1; L6E: into lower layer 2/3); interneurons (L23I, L4I, L5I, L6I) are a soma
with one dendritic stick up and one down, inside their layer. Coordinates are
um, z positive towards the pial surface, the soma centre at z = 0; the
configuration (config/microcircuit.yaml) puts the somata at the middle of
their layer of the column of Hagen et al. (2016), whose layer boundaries are
:data:`LAYERS`. Sizes are ours, chosen to fit those layers (see README.md).

``--binzegger`` reads the table of Binzegger et al. (2004) as distributed with
hybridLFPy (``examples/binzegger_connectivity_table.json``: per cell type, its
share of the cells and, per layer, its synapses per neuron and the percentage
from each presynaptic type) and prints, for each pathway, the share of its
synapses in each layer, as Hagen et al. (2016) derived their layer-specific
connectivity: cell types pooled by their share of the population.

References
----------
Binzegger T, Douglas RJ, Martin KAC (2004). A quantitative map of the circuit
of cat primary visual cortex. J Neurosci 24:8441-8453.
Hagen E, Dahmen D, Stavrinou ML, Linden H, Tetzlaff T, van Albada SJ, Gruen S,
Diesmann M, Einevoll GT (2016). Hybrid scheme for modeling local field
potentials from point-neuron networks. Cereb Cortex 26:4461-4496.
Potjans TC, Diesmann M (2014). The cell-type specific cortical microcircuit.
Cereb Cortex 24:785-806.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from lfpflow.multicompartment.morphology import Stick, asc_text, hoc_text, swc_text

HERE = Path(__file__).resolve().parent

#: Layer -> (upper, lower) boundary depth (um), pial surface at 0: Hagen et
#: al. (2016), the column of their hybrid LFP scheme (hybridLFPy,
#: examples/Hagen_et_al_2016_cercor/cellsim16popsParams_default.py).
LAYERS = {
    "1": (0.0, -81.6),
    "23": (-81.6, -587.1),
    "4": (-587.1, -922.2),
    "5": (-922.2, -1170.0),
    "6": (-1170.0, -1491.7),
}

#: Population -> its layer (the middle of the layer is the mean soma depth).
POPULATION_LAYER = {
    "L23E": "23", "L23I": "23", "L4E": "4", "L4I": "4",
    "L5E": "5", "L5I": "5", "L6E": "6", "L6I": "6",
}  # fmt: skip

#: Binzegger et al. (2004) cell types of each population (as Hagen et al. 2016).
CELL_TYPES = {
    "L23E": ["p23"], "L23I": ["b23", "nb23"],
    "L4E": ["p4", "ss4(L23)", "ss4(L4)"], "L4I": ["b4", "nb4"],
    "L5E": ["p5(L23)", "p5(L56)"], "L5I": ["b5", "nb5"],
    "L6E": ["p6(L4)", "p6(L56)"], "L6I": ["b6", "nb6"],
}  # fmt: skip

#: Apical dendrite (um, absolute depth): the trunk ends and the tuft starts at
#: the bottom of layer 1, the tuft ends just below the pial surface; L6E's
#: trunk ends at the top of layer 4 and its tuft in lower layer 2/3 (most L6
#: pyramids' apical dendrites end in L4 or L2/3: Binzegger et al. 2004 count
#: synapses of p6(L4) cells in L4 and L2/3).
TRUNK_TOP_UM = {"L23E": -81.6, "L4E": -81.6, "L5E": -81.6, "L6E": -587.1}
TUFT_TOP_UM = {"L23E": -20.0, "L4E": -20.0, "L5E": -20.0, "L6E": -500.0}

#: Pyramidal cells: soma diameter = length, basal stick length, trunk diameters
#: at the soma and at the tuft, tuft diameter at its top (um).
PYRAMIDS = {
    "L23E": {"soma": 18.0, "basal": 200.0, "trunk": (2.5, 1.5), "tuft": 1.0},
    "L4E": {"soma": 18.0, "basal": 150.0, "trunk": (2.5, 1.2), "tuft": 1.0},
    "L5E": {"soma": 25.0, "basal": 120.0, "trunk": (4.0, 1.5), "tuft": 1.0},
    "L6E": {"soma": 18.0, "basal": 140.0, "trunk": (2.5, 1.2), "tuft": 1.0},
}

#: Interneurons: soma diameter = length, length of the up and down sticks (um).
INTERNEURONS = {
    "L23I": {"soma": 15.0, "stick": 200.0},
    "L4I": {"soma": 15.0, "stick": 150.0},
    "L5I": {"soma": 15.0, "stick": 110.0},
    "L6I": {"soma": 15.0, "stick": 150.0},
}


def soma_depth_um(population: str) -> float:
    """Mean soma depth (um) of a population: the middle of its layer."""
    upper, lower = LAYERS[POPULATION_LAYER[population]]
    return (upper + lower) / 2


def pyramid(population: str) -> list[Stick]:
    """Soma, basal stick down, apical trunk up through the layers above, then a tuft."""
    p = PYRAMIDS[population]
    half = p["soma"] / 2
    depth = soma_depth_um(population)
    trunk_top = TRUNK_TOP_UM[population] - depth
    tuft_top = TUFT_TOP_UM[population] - depth
    return [
        Stick("soma", ((0, 0, -half, p["soma"]), (0, 0, half, p["soma"]))),
        Stick("dend", ((0, 0, -half, 2.0), (0, 0, -half - p["basal"], 1.5)), 0, 0.0),
        Stick("apic", ((0, 0, half, p["trunk"][0]), (0, 0, trunk_top, p["trunk"][1])), 0, 1.0),
        Stick("apic", ((0, 0, trunk_top, p["trunk"][1]), (0, 0, tuft_top, p["tuft"])), 2, 1.0),
    ]


def interneuron(population: str) -> list[Stick]:
    """Soma with one dendritic stick down and one up, of equal length."""
    p = INTERNEURONS[population]
    half = p["soma"] / 2
    return [
        Stick("soma", ((0, 0, -half, p["soma"]), (0, 0, half, p["soma"]))),
        Stick("dend", ((0, 0, -half, 1.5), (0, 0, -half - p["stick"], 1.0)), 0, 0.0),
        Stick("dend", ((0, 0, half, 1.5), (0, 0, half + p["stick"], 1.0)), 0, 1.0),
    ]


#: The default ball-and-sticks cells (BallAndSticks_*.hoc), for the .swc/.asc test cells.
BALL_AND_STICKS = {
    "E": [
        Stick("soma", ((0, 0, -10, 20), (0, 0, 10, 20))),
        Stick("dend", ((0, 0, -10, 2.0), (0, 0, -260, 2.0)), 0, 0.0),
        Stick("apic", ((0, 0, 10, 3.0), (0, 0, 1010, 1.5)), 0, 1.0),
    ],
    "I": [
        Stick("soma", ((0, 0, -7.5, 15), (0, 0, 7.5, 15))),
        Stick("dend", ((0, 0, -7.5, 1.5), (0, 0, -257.5, 1.5)), 0, 0.0),
        Stick("apic", ((0, 0, 7.5, 1.5), (0, 0, 257.5, 1.5)), 0, 1.0),
    ],
}


def write_cells(folder: Path) -> list[Path]:
    """Write the layered cells (.hoc) and the ball-and-sticks test cells (.swc, .asc)."""
    written = []
    for population in POPULATION_LAYER:
        sticks = pyramid(population) if population in PYRAMIDS else interneuron(population)
        header = (
            f"Layered_{population}.hoc -- lfpflow layered microcircuit cell of {population}\n"
            "written by morphologies/make_layered.py; geometry only, um, z towards the pia,\n"
            f"soma centre at z = 0 (placed at {soma_depth_um(population):.2f} um by the config)"
        )
        path = folder / f"Layered_{population}.hoc"
        path.write_text(hoc_text(sticks, header=header))
        written.append(path)
    note = "written by morphologies/make_layered.py: BallAndSticks_{}.hoc in another format"
    path = folder / "BallAndSticks_E.swc"
    path.write_text(swc_text(BALL_AND_STICKS["E"], header=note.format("E")))
    written.append(path)
    path = folder / "BallAndSticks_I.asc"
    path.write_text(asc_text(BALL_AND_STICKS["I"], header=note.format("I")))
    written.append(path)
    return written


def layer_shares(table: dict, post: str, pre: str) -> dict[str, float]:
    """Share of the synapses of ``pre`` onto ``post`` in each layer (Binzegger et al. 2004).

    Sum over the postsynaptic cell types ``y`` (weighted by their occurrence)
    and presynaptic types ``x`` of ``occurrence_y * k_yL * p_yxL``, with
    ``k_yL`` the synapses per neuron of ``y`` in layer ``L`` and ``p_yxL`` the
    percentage of them from ``x``; normalised over the layers. Empty if the
    table has no such synapses.
    """
    counts = {}
    for layer in LAYERS:
        total = 0.0
        for y in CELL_TYPES[post]:
            entry = table[y]["syn_dict"].get(layer)
            if entry is not None:
                share = sum(entry.get(x, 0.0) for x in CELL_TYPES[pre]) / 100.0
                total += table[y]["occurrence"] * entry["number of synapses per neuron"] * share
        counts[layer] = total
    norm = sum(counts.values())
    return {layer: n / norm for layer, n in counts.items()} if norm > 0 else {}


def synapse_positions(table: dict, min_share: float = 0.01) -> dict[str, dict]:
    """``kernels.synapse_positions`` of the 64 pathways: one normal density per layer.

    A layer's density has the layer's middle as mean and the sd of a uniform
    density over the layer (thickness / sqrt(12)); layers with a share below
    ``min_share`` are left out. Pathways the table has no synapses for (from
    L5 interneurons onto other layers) get the postsynaptic soma layer.
    Pyramidal cells receive on ``apic`` and ``dend``, interneurons on ``dend``
    (as Hagen et al. 2016).
    """
    positions = {}
    for post in POPULATION_LAYER:
        for pre in POPULATION_LAYER:
            shares = layer_shares(table, post, pre) or {POPULATION_LAYER[post]: 1.0}
            kept = {layer: s for layer, s in shares.items() if s >= min_share}
            means, sds = [], []
            for layer in kept:
                upper, lower = LAYERS[layer]
                means.append(round((upper + lower) / 2, 2))
                sds.append(round((upper - lower) / math.sqrt(12), 1))
            positions[f"{post}:{pre}"] = {
                "sections": ["apic", "dend"] if post in PYRAMIDS else ["dend"],
                "z_mean_um": means,
                "z_sd_um": sds,
                "weights": [round(s / sum(kept.values()), 3) for s in kept.values()],
            }
    return positions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binzegger", type=Path, help="binzegger_connectivity_table.json")
    args = parser.parse_args()
    for path in write_cells(HERE):
        print(f"wrote {path}")
    if args.binzegger:
        table = json.loads(args.binzegger.read_text())["data"]
        for key, position in synapse_positions(table).items():
            print(f'    "{key}": {json.dumps(position).replace(chr(34), "")}')


if __name__ == "__main__":
    main()
