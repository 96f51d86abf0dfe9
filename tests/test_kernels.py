"""Tests of lfpflow.multicompartment.kernels: mechanisms, kernel properties, files, arguments.

NEURON keeps its state per process and cannot load a mechanism library twice,
so everything that runs NEURON happens in subprocesses that execute this file
as a script (see ``__main__`` at the bottom): one for the synapse traces and
one that computes all kernels the tests need. Kernels computed one after the
other in one process are bit-identical to kernels computed in fresh processes
(checked when this module was written), so one subprocess serves them all.
The pytest process itself never imports NEURON.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import h5py
import numpy as np
import pytest

from lfpflow.config import ConfigError, kernel_description, pathway_key, stage_config
from lfpflow.config.schema import merge_overlay
from lfpflow.io import config_sha256
from lfpflow.multicompartment import cells, kernel_probes, kernels
from lfpflow.resolve import load_config, resolve_config
from lfpflow.signals import kernel_files

ROOT = Path(__file__).resolve().parents[1]
MOD_DIR = ROOT / "mod"
MORPHOLOGY_DIR = ROOT / "morphologies"
DT_MS = 2.0**-4

# One CurrExp2Syn / Exp2SynI event (ms, nA) for the analytic comparison.
SYN_TAU1_MS, SYN_TAU2_MS, SYN_WEIGHT_NA = 0.3, 2.5, 0.7
SYN_EVENT_MS, SYN_TSTOP_MS, SYN_DT_MS = 5.0, 30.0, 2.0**-6

# Relative tolerance for "zero" before the shortest delay: the delay
# distribution starts at min_ms, so the kernel there is zero up to rounding.
CAUSALITY_RTOL = 1e-12


#: Overlay of the kernel tests: the default configuration with 10 ms kernels at
#: dt 2^-4 ms, five contacts, slightly different g_eff rates and a 0.5 ms
#: shortest delay for E:I (8 lags of dt that must be zero).
TEST_OVERLAY: dict[str, Any] = {
    "simulation": {"dt_ms": DT_MS},
    "kernels": {
        "tau_ms": 10.0,
        "presynaptic_rates_Hz": {"E": 2.2, "I": 4.7},
        "delays": {"E:I": {"min_ms": 0.5}},
        "probes": {"lfp": {"z_um": [1000.0, 700.0, 400.0, 100.0, -200.0]}},
    },
}


def _overlay(kernel_overrides: dict[str, Any], **top_level: Any) -> dict[str, Any]:
    """:data:`TEST_OVERLAY` with ``kernels.<key>`` and top-level overrides merged over it."""
    return merge_overlay(TEST_OVERLAY, {"kernels": kernel_overrides, **top_level})


def _kernel_config(**kernel_overrides: Any) -> dict[str, Any]:
    """Kernel description of :data:`TEST_OVERLAY` with ``kernels.<key>`` overrides."""
    return kernel_description(resolve_config(_overlay(kernel_overrides)))


def _scaled_weights(factor: float) -> dict[str, float]:
    return {key: factor * value for key, value in _kernel_config()["weights_uS"].items()}


#: Kernels the NEURON subprocess computes: name -> (kernel description, post, pre).
KERNEL_JOBS = {
    "conductance_g_eff": (_kernel_config(), "E", "I"),
    "conductance_no_g_eff": (_kernel_config(g_eff=False), "E", "I"),
    "current": (_kernel_config(synapse_type="current", g_eff=False), "E", "I"),
    "current_double_weight": (
        _kernel_config(synapse_type="current", g_eff=False, weights_uS=_scaled_weights(2.0)),
        "E",
        "I",
    ),
    "excitatory_onto_inhibitory": (_kernel_config(), "I", "E"),
}


def _run_worker(*args: str) -> None:
    """Run this file as a script in a fresh Python (a fresh NEURON)."""
    result = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise AssertionError(
            f"worker {args[0]} failed:\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
        )


@pytest.fixture(scope="module")
def mechanisms_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """mod/ compiled once for this module (in the pytest process: no NEURON import)."""
    return cells.compile_mechanisms(MOD_DIR, tmp_path_factory.mktemp("nrn") / "mechanisms")


@pytest.fixture(scope="module")
def computed_kernels(mechanisms_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """All kernels of :data:`KERNEL_JOBS`, computed in one NEURON subprocess."""
    out = tmp_path_factory.mktemp("kernels") / "kernels.npz"
    jobs = {
        name: {"config": c, "post": post, "pre": pre}
        for name, (c, post, pre) in KERNEL_JOBS.items()
    }
    _run_worker("kernels", str(mechanisms_dir), json.dumps(jobs), str(out))
    with np.load(out) as data:
        result: dict[str, dict[str, np.ndarray]] = {name: {} for name in KERNEL_JOBS}
        for key in data.files:
            name, array = key.split("/")
            result[name][array] = data[key]
    return result


# --------------------------------------------------------------------------
# mechanisms
# --------------------------------------------------------------------------


@pytest.mark.slow
def test_compile_mechanisms_builds_library_and_leaves_no_staging(mechanisms_dir: Path) -> None:
    assert sorted(p.name for p in mechanisms_dir.glob("*.mod")) == sorted(
        p.name for p in MOD_DIR.glob("*.mod")
    )
    assert list(mechanisms_dir.glob("*/libnrnmech.*")), "no libnrnmech built"
    assert not list(mechanisms_dir.parent.glob(".mechanisms.*")), "staging folder left behind"


@pytest.mark.slow
def test_compile_mechanisms_reports_nrnivmodl_errors(tmp_path: Path) -> None:
    mod_dir = tmp_path / "mod"
    mod_dir.mkdir()
    (mod_dir / "Broken.mod").write_text("NEURON { POINT_PROCESS Broken }\nBREAKPOINT { i = }\n")
    build_dir = tmp_path / "build"
    with pytest.raises(RuntimeError, match="nrnivmodl failed"):
        cells.compile_mechanisms(mod_dir, build_dir)
    assert not build_dir.exists()
    assert list(tmp_path.iterdir()) == [mod_dir], "a failed build left files behind"


@pytest.mark.slow
def test_synapse_current_is_the_analytic_double_exponential(
    mechanisms_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "synapse.npz"
    _run_worker("synapse", str(mechanisms_dir), str(out))
    with np.load(out) as data:
        t_ms = data["t_ms"]
        v_mV = data["v_mV"]
        currents = {name: data[name] for name in cells.SYNAPSE_MECHANISMS}

    t_peak = (
        SYN_TAU1_MS * SYN_TAU2_MS / (SYN_TAU2_MS - SYN_TAU1_MS) * np.log(SYN_TAU2_MS / SYN_TAU1_MS)
    )
    norm = 1.0 / (np.exp(-t_peak / SYN_TAU2_MS) - np.exp(-t_peak / SYN_TAU1_MS))

    def inward_current(t: np.ndarray) -> np.ndarray:
        s = np.clip(t - SYN_EVENT_MS, 0.0, None)
        return SYN_WEIGHT_NA * norm * (np.exp(-s / SYN_TAU2_MS) - np.exp(-s / SYN_TAU1_MS))

    # The formula itself peaks at the weight, at t_peak.
    fine = SYN_EVENT_MS + np.linspace(0, 5 * t_peak, 100001)
    assert inward_current(fine).max() == pytest.approx(SYN_WEIGHT_NA, rel=1e-9)
    assert fine[inward_current(fine).argmax()] - SYN_EVENT_MS == pytest.approx(t_peak, abs=1e-4)

    for name, i_nA in currents.items():
        # NEURON's fixed-step scheme records at t the current computed from the
        # states one step earlier, hence t - dt. NEURON counts outward
        # currents positive: a positive weight must give negative i (inward).
        np.testing.assert_allclose(
            -i_nA, inward_current(t_ms - SYN_DT_MS), rtol=0, atol=1e-12, err_msg=name
        )
        assert (-i_nA).max() == pytest.approx(SYN_WEIGHT_NA, rel=1e-3), name
        assert t_ms[(-i_nA).argmax()] - SYN_DT_MS - SYN_EVENT_MS == pytest.approx(
            t_peak, abs=SYN_DT_MS
        ), name
    np.testing.assert_array_equal(currents["CurrExp2Syn"], currents["Exp2SynI"])
    # positive weights depolarise
    assert v_mV.max() > v_mV[0] + 0.1


# --------------------------------------------------------------------------
# kernels
# --------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("job", ["conductance_g_eff", "current", "excitatory_onto_inhibitory"])
def test_kernels_are_causal(computed_kernels: dict, job: str) -> None:
    kernel = computed_kernels[job]
    config, post, pre = KERNEL_JOBS[job]
    min_delay_ms = config["delays"][pathway_key(post, pre)]["min_ms"]
    lags = kernel["lags_ms"]
    assert lags.size == kernels.n_lags(config["tau_ms"], DT_MS)
    assert lags[lags.size // 2] == 0.0
    for name in ("LFP", "CDM", "CSD"):
        h = kernel[name]
        peak = np.abs(h).max()
        assert peak > 0, name
        assert np.all(h[:, lags < 0] == 0.0), f"{name} nonzero at negative lags"
        before_delay = np.abs(h[:, (lags >= 0) & (lags < min_delay_ms)]).max()
        assert before_delay <= CAUSALITY_RTOL * peak, f"{name} nonzero before min delay"
        # not vacuous: the response is there one millisecond after the delay
        after_delay = np.abs(h[:, (lags > min_delay_ms) & (lags < min_delay_ms + 1.0)]).max()
        assert after_delay > 1e-3 * peak, name


@pytest.mark.slow
def test_current_kernel_is_linear_in_weight(computed_kernels: dict) -> None:
    single = computed_kernels["current"]
    double = computed_kernels["current_double_weight"]
    for name in ("LFP", "CDM", "CSD"):
        np.testing.assert_allclose(
            double[name],
            2.0 * single[name],
            rtol=1e-10,
            atol=1e-12 * np.abs(single[name]).max(),
            err_msg=name,
        )


@pytest.mark.slow
def test_current_kernel_equals_linearised_conductance_kernel(computed_kernels: dict) -> None:
    # Without g_eff, KernelApprox linearises Exp2Syn into Exp2SynI with weight
    # -g (Vrest - e_rev); our current synapse uses g (e_rev - Vrest): same kernel.
    current = computed_kernels["current"]
    conductance = computed_kernels["conductance_no_g_eff"]
    for name in ("LFP", "CDM", "CSD"):
        np.testing.assert_allclose(
            current[name],
            conductance[name],
            rtol=1e-10,
            atol=1e-12 * np.abs(current[name]).max(),
            err_msg=name,
        )


@pytest.mark.slow
def test_g_eff_shortens_the_kernel(computed_kernels: dict) -> None:
    # g_eff raises the leak conductance by the mean synaptic conductance, so the
    # membrane time constant and with it the kernel's tail get shorter.
    def tail_fraction(kernel: dict) -> float:
        cdm_z = np.abs(kernel["CDM"][2])
        return cdm_z[kernel["lags_ms"] >= 8.0].max() / cdm_z.max()

    with_g_eff = tail_fraction(computed_kernels["conductance_g_eff"])
    without = tail_fraction(computed_kernels["conductance_no_g_eff"])
    assert with_g_eff < 0.9 * without


@pytest.mark.slow
def test_kernel_signs_follow_the_synaptic_currents(computed_kernels: dict) -> None:
    def at_soma_contact(kernel: dict) -> float:
        """LFP at the contact nearest the somata (z = 0), at its largest magnitude."""
        trace = kernel["LFP"][np.abs(kernel["z_um"]).argmin()]
        return trace[np.abs(trace).argmax()]

    # Perisomatic inhibition of E (I onto E, around z = -50 um) is an outward
    # current near the somata: positive LFP there; its return currents enter
    # higher up the apical stick, so current flows down: CDM_z < 0.
    inhibition = computed_kernels["conductance_g_eff"]
    assert at_soma_contact(inhibition) > 0
    cdm = inhibition["CDM"]
    assert cdm[2, np.abs(cdm[2]).argmax()] < 0
    assert np.all(cdm[:2] == 0.0)  # rotational symmetry about z: no x, y components
    # Excitation of I near their somata is an inward current: negative LFP.
    assert at_soma_contact(computed_kernels["excitatory_onto_inhibitory"]) < 0


# --------------------------------------------------------------------------
# files
# --------------------------------------------------------------------------


def _synthetic_kernel(
    n_contacts: int = 4, half: int = 400, decay_ms: float = 2.0
) -> dict[str, np.ndarray]:
    """Random channels decaying as exp(-|lag| / decay_ms) over lags of +-half * DT_MS."""
    rng = np.random.default_rng(1)
    lags = kernels.lag_times_ms(half * DT_MS, DT_MS)
    decay = np.exp(-np.abs(lags) / decay_ms)
    return {
        "LFP": rng.normal(size=(n_contacts, lags.size)) * decay,
        "CDM": rng.normal(size=(3, lags.size)) * decay,
        "CSD": rng.normal(size=(n_contacts, lags.size)) * decay,
        "lags_ms": lags,
        "z_um": np.linspace(300.0, 0.0, n_contacts),
    }


def test_tail_mass_of_an_exponential_kernel_is_the_analytic_share() -> None:
    # causal exp(-t / d) on [0, T]: the last w ms hold (e^{-(T-w)/d} - e^{-T/d}) / (1 - e^{-T/d})
    lags = kernels.lag_times_ms(25.0, DT_MS)
    decay_ms = 8.0
    values = np.where(lags >= 0, np.exp(-lags / decay_ms), 0.0)[np.newaxis]
    t, w = 25.0, kernel_files.TAIL_WINDOW_MS
    expected = (np.exp(-(t - w) / decay_ms) - np.exp(-t / decay_ms)) / (1 - np.exp(-t / decay_ms))
    got = kernel_files.tail_mass_fraction(values, lags)
    # the sum over samples approximates the integral to O(dt / d)
    assert got == pytest.approx(expected, rel=0.02)


def test_a_truncated_kernel_warns_and_a_strongly_truncated_one_is_refused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = {"seed": 1, **stage_config(resolve_config(TEST_OVERLAY), "kernels")}
    # +-25 ms, decaying both ways: 2 ms leaves ~1e-4 % per end, 7 ms ~1.5 %, 30 ms ~7 %
    decayed = _synthetic_kernel(decay_ms=2.0)
    assert kernel_files.check_truncation(decayed, name="E:I")["LFP"] < 1e-4
    with caplog.at_level("WARNING"):
        fractions = kernel_files.check_truncation(_synthetic_kernel(decay_ms=7.0), name="E:I")
    assert 0.01 < max(fractions.values()) < 0.05
    assert "cut off by kernels.tau_ms = 25 ms" in caplog.text
    path = tmp_path / "E_I.h5"
    with pytest.raises(ValueError, match=r"kernel E:I: .* % of the .* increase kernels.tau_ms"):
        kernel_files.write_kernel(
            path, _synthetic_kernel(decay_ms=30.0), config=config, post="E", pre="I"
        )
    assert not list(tmp_path.iterdir()), "a refused kernel left a file"


def test_kernel_file_round_trips_with_units_and_attrs(tmp_path: Path) -> None:
    config = {"seed": 7, **stage_config(resolve_config(TEST_OVERLAY), "kernels")}
    kernel = _synthetic_kernel()
    path = tmp_path / "kernels" / "E_I.h5"
    kernel_files.write_kernel(path, kernel, config=config, post="E", pre="I")

    loaded = kernel_files.load_kernels([path])
    assert list(loaded) == [("E", "I")]
    entry = loaded[("E", "I")]
    for name in ("LFP", "CDM", "CSD", "lags_ms", "z_um"):
        np.testing.assert_array_equal(entry[name], kernel[name])
    assert entry["units"] == {
        "LFP": "mV",
        "CDM": "nA*um",
        "CSD": "nA/um^3",
        "lags_ms": "ms",
        "z_um": "um",
    }
    attrs = entry["attrs"]
    assert attrs["post"] == "E" and attrs["pre"] == "I"
    assert attrs["synapse_type"] == "conductance"
    assert bool(attrs["g_eff"]) is True
    assert attrs["kernel_config_sha256"] == config_sha256(config["kernels"])
    assert attrs["config_sha256"] == config_sha256(config)
    assert attrs["seed"] == 7
    assert attrs["dt_ms"] == DT_MS
    with h5py.File(path) as h5:
        np.testing.assert_array_equal(
            h5["CSD"].attrs["slab_edges_um"], kernel_files.csd_slab_edges_um(kernel["z_um"])
        )
        for name in ("LFP", "CDM", "CSD"):
            assert h5[name].attrs["tail_mass_fraction"] == pytest.approx(
                entry["tail_mass_fraction"][name], rel=1e-12
            )
            assert h5[name].attrs["tail_window_ms"] == kernel_files.TAIL_WINDOW_MS
        # lfpflow.io stores lists of strings as JSON
        assert json.loads(h5["LFP"].attrs["dims"]) == ["contact", "lag"]
    assert not [p for p in path.parent.iterdir() if p != path], "temporary file left behind"


def test_a_kernel_file_written_before_the_rename_reads_its_lags_as_lags_ms(
    tmp_path: Path,
) -> None:
    # kernel files written before the rename stored the lag vector as "tau_ms"
    config = {"seed": 7, **stage_config(resolve_config(TEST_OVERLAY), "kernels")}
    kernel = _synthetic_kernel()
    new_path, old_path = tmp_path / "new" / "E_I.h5", tmp_path / "old" / "E_I.h5"
    kernel_files.write_kernel(new_path, kernel, config=config, post="E", pre="I")
    old_path.parent.mkdir()
    with h5py.File(new_path) as new, h5py.File(old_path, "w") as old:
        for name, value in new.attrs.items():
            old.attrs[name] = value
        for name in new:
            new.copy(new[name], old, name="tau_ms" if name == "lags_ms" else name)
    with h5py.File(old_path) as h5:
        assert "tau_ms" in h5 and "lags_ms" not in h5

    loaded = kernel_files.load_kernels([old_path])[("E", "I")]
    assert "tau_ms" not in loaded
    np.testing.assert_array_equal(loaded["lags_ms"], kernel["lags_ms"])
    assert loaded["units"]["lags_ms"] == "ms" and "tau_ms" not in loaded["units"]
    expected = kernel_files.load_kernels([new_path])[("E", "I")]
    for name in ("LFP", "CDM", "CSD", "z_um"):
        np.testing.assert_array_equal(loaded[name], expected[name])
    assert loaded["tail_mass_fraction"] == expected["tail_mass_fraction"]
    # an old file and a new one hold the same lags, so they load together
    other = tmp_path / "new" / "E_E.h5"
    kernel_files.write_kernel(other, kernel, config=config, post="E", pre="E")
    assert list(kernel_files.load_kernels([old_path, other])) == [("E", "I"), ("E", "E")]


def test_load_kernels_rejects_duplicate_pathways(tmp_path: Path) -> None:
    config = {"seed": 1, **stage_config(resolve_config(TEST_OVERLAY), "kernels")}
    for name in ("a.h5", "b.h5"):
        kernel_files.write_kernel(
            tmp_path / name, _synthetic_kernel(), config=config, post="E", pre="E"
        )
    with pytest.raises(ValueError, match="appears twice"):
        kernel_files.load_kernels([tmp_path / "a.h5", tmp_path / "b.h5"])


# --------------------------------------------------------------------------
# CSD geometry (no NEURON)
# --------------------------------------------------------------------------


def test_csd_slab_edges_reach_halfway_to_neighbours() -> None:
    edges = kernel_files.csd_slab_edges_um(np.array([1000.0, 900.0, 700.0]))
    np.testing.assert_array_equal(edges, [[950.0, 1050.0], [800.0, 950.0], [600.0, 800.0]])
    with pytest.raises(ValueError, match="kernels.probes.lfp.z_um"):
        kernel_files.csd_slab_edges_um(np.array([0.0]))


def test_gauss_cylinder_csd_distributes_each_current_fully() -> None:
    # Slabs tiling all depths receive all of each segment's current.
    segments = SimpleNamespace(z=np.array([[-20.0, 0.0], [0.0, 300.0], [300.0, 310.0]]))
    z = np.arange(-2000.0, 2001.0, 50.0)
    edges = kernel_files.csd_slab_edges_um(z)
    probe = kernel_probes.GaussCylinderCSD(segments, edges, radius_um=150.0, sigma_z_um=75.0)
    volumes = np.pi * 150.0**2 * np.diff(edges, axis=1)
    np.testing.assert_allclose(
        (probe.get_transformation_matrix() * volumes).sum(axis=0), 1.0, rtol=1e-12
    )
    # With a tiny depth spread, each current lands in the slab of its midpoint.
    narrow = kernel_probes.GaussCylinderCSD(segments, edges, radius_um=150.0, sigma_z_um=1e-3)
    m = narrow.get_transformation_matrix() * volumes
    np.testing.assert_allclose(z[m.argmax(axis=0)], [0.0, 150.0, 300.0])
    with pytest.raises(AttributeError):
        kernel_probes.GaussCylinderCSD(None, edges, 150.0, 75.0).get_transformation_matrix()


# --------------------------------------------------------------------------
# configuration and arguments (no NEURON)
# --------------------------------------------------------------------------


def _compute(config: dict[str, Any], post: str = "E", pre: str = "I", dt_ms: float = DT_MS):
    return kernels.compute_kernel(
        config,
        post=post,
        pre=pre,
        dt_ms=dt_ms,
        mechanisms_dir=Path("/nonexistent"),
        morphology_dir=MORPHOLOGY_DIR,
    )


#: (overlay of the kernels section over the defaults, expected message regex).
#: The configuration layer refuses these, so compute_kernel never sees them.
BAD_KERNEL_OVERLAYS = [
    ({"weights_uS": {"E:I": None}}, r"kernels\.weights_uS\.E:I"),
    ({"synapse_type": "ohmic"}, r"kernels\.synapse_type"),
    ({"synapse_type": "current"}, r"kernels\.g_eff"),  # g_eff is true
    ({"presynaptic_rates_Hz": {"I": None}}, r"kernels\.presynaptic_rates_Hz\.I"),
    ({"synapses": {"I": {"tau1_ms": 9.0}}}, r"kernels\.synapses\.I\.tau2_ms"),
    ({"delays": {"E:I": {"min_ms": -0.1}}}, r"kernels\.delays\.E:I\.min_ms"),
    ({"multapses": {"E:E": {"min": 0}}}, r"kernels\.multapses\.E:E\.min"),
    ({"synapse_positions": {"E:I": {"sections": ["axon"]}}}, r"synapse_positions\.E:I\.sections"),
    ({"synapse_positions": {"E:I": {"weights": [1.0, 2.0]}}}, r"synapse_positions\.E:I"),
    ({"cell": {"g_pas_S_per_cm2": "abc"}}, r"kernels\.cell\.g_pas_S_per_cm2"),
    ({"probes": {"csd": "maybe"}}, r"kernels\.probes\.csd"),
]


@pytest.mark.parametrize(
    ("kernel_overlay", "message"),
    BAD_KERNEL_OVERLAYS,
    ids=[json.dumps(overlay) for overlay, _ in BAD_KERNEL_OVERLAYS],
)
def test_bad_kernel_configuration_is_refused_naming_the_key(
    kernel_overlay: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        resolve_config({"kernels": kernel_overlay})


def test_fractional_population_size_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"populations\.E\.size"):
        resolve_config({"populations": {"E": {"size": 10.5}}})


@pytest.mark.parametrize(
    ("kernel_overlay", "message"),
    [
        ({"tau_ms": 10.03}, r"kernels\.tau_ms"),  # not a whole number of dt_ms
        ({"probes": {"lfp": {"z_um": [100.0]}}}, r"kernels\.probes\.lfp\.z_um"),  # CSD needs 2
    ],
    ids=["tau_not_on_lag_grid", "csd_with_one_contact"],
)
def test_bad_lag_grid_or_csd_contacts_are_refused_before_neuron(
    kernel_overlay: dict[str, Any], message: str
) -> None:
    # Refused by compute_kernel (mechanisms_dir does not exist: NEURON is not
    # reached), or already by resolve_config once checks.py has these rules.
    with pytest.raises(ValueError, match=message):
        _compute(_kernel_config(**kernel_overlay))


def test_compute_kernel_refuses_unknown_population_and_off_grid_dt() -> None:
    config = _kernel_config()
    with pytest.raises(ValueError, match=r"post='X' is not a population; allowed values: E, I"):
        _compute(config, post="X")
    with pytest.raises(ValueError, match=r"pre='Y' is not a population"):
        _compute(config, pre="Y")
    with pytest.raises(ValueError, match=r"whole number of simulation\.dt_ms \(0\.3\)"):
        _compute(config, dt_ms=0.3)


def test_missing_morphology_is_reported() -> None:
    overlay = _overlay({}, populations={"E": {"cell": {"morphology": "NoSuchCell.hoc"}}})
    with pytest.raises(ConfigError, match=r"populations\.E\.cell\.morphology': no file"):
        resolve_config(overlay)
    config = _kernel_config()
    config["populations"]["E"]["morphology"] = "NoSuchCell.hoc"  # e.g. deleted after checks
    with pytest.raises(FileNotFoundError, match=r"populations\.E\.cell\.morphology"):
        _compute(config)


def test_kernel_approx_arguments_of_the_tiny_configuration() -> None:
    config = load_config(ROOT / "config" / "tiny.yaml")
    description = kernel_description(config)
    setup = kernels.kernel_approx_arguments(
        description, post="E", pre="I", morphology_dir=MORPHOLOGY_DIR
    )
    approx = setup["approx"]
    assert approx["X"] == ["E", "I"] and approx["Y"] == "E"
    np.testing.assert_array_equal(approx["N_X"], [400.0, 100.0])
    assert approx["N_Y"] == 400.0
    assert approx["cellParameters"] == cells.cell_parameters(description, "E", MORPHOLOGY_DIR)
    assert approx["n_ext"] == config["network"]["drive"]["n_ext"]["E"]
    assert [s["syntype"] for s in approx["synapseParameters"]] == ["Exp2Syn", "Exp2Syn"]
    assert approx["nu_X"] == config["kernels"]["presynaptic_rates_Hz"]
    assert setup["tau_ms"] == config["kernels"]["tau_ms"]
    np.testing.assert_array_equal(
        setup["probes"]["csd_slab_edges_um"],
        kernel_files.csd_slab_edges_um(np.array(config["kernels"]["probes"]["lfp"]["z_um"])),
    )


def test_current_weight_is_the_inward_current_at_rest() -> None:
    # excitatory: inward (positive); inhibitory below rest: outward (negative)
    assert kernels.current_synapse_weight_nA(0.001, -65.0, 0.0) == pytest.approx(0.065)
    assert kernels.current_synapse_weight_nA(0.001, -65.0, -80.0) == pytest.approx(-0.015)


def test_importing_kernels_loads_no_simulator() -> None:
    code = (
        "import sys, lfpflow.multicompartment.kernels; "
        "loaded = [m for m in ('neuron', 'LFPy', 'lfpykernels') if m in sys.modules]; "
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------
# NEURON workers (run in subprocesses by the tests above)
# --------------------------------------------------------------------------


def _kernels_worker(mechanisms_dir: str, jobs_json: str, out: str) -> None:
    arrays = {}
    for name, job in json.loads(jobs_json).items():
        kernel = kernels.compute_kernel(
            job["config"],
            post=job["post"],
            pre=job["pre"],
            dt_ms=DT_MS,
            mechanisms_dir=Path(mechanisms_dir),
            morphology_dir=MORPHOLOGY_DIR,
        )
        arrays.update({f"{name}/{key}": value for key, value in kernel.items()})
    np.savez(out, **arrays)


def _synapse_worker(mechanisms_dir: str, out: str) -> None:
    from neuron import h

    cells.load_mechanisms(Path(mechanisms_dir))
    h.load_file("stdrun.hoc")
    soma = h.Section(name="soma")
    soma.L = soma.diam = 10.0
    soma.insert("pas")
    synapses, netcons, currents = [], [], {}
    for name in cells.SYNAPSE_MECHANISMS:
        synapse = getattr(h, name)(soma(0.5))
        synapse.tau1, synapse.tau2 = SYN_TAU1_MS, SYN_TAU2_MS
        netcon = h.NetCon(None, synapse)
        netcon.weight[0] = SYN_WEIGHT_NA
        currents[name] = h.Vector().record(synapse._ref_i)
        synapses.append(synapse)
        netcons.append(netcon)
    t_ms = h.Vector().record(h._ref_t)
    v_mV = h.Vector().record(soma(0.5)._ref_v)
    h.dt = SYN_DT_MS
    h.finitialize(-65.0)
    for netcon in netcons:
        netcon.event(SYN_EVENT_MS)
    h.continuerun(SYN_TSTOP_MS)
    np.savez(
        out,
        t_ms=np.array(t_ms),
        v_mV=np.array(v_mV),
        **{name: np.array(vector) for name, vector in currents.items()},
    )


if __name__ == "__main__":
    workers = {"kernels": _kernels_worker, "synapse": _synapse_worker}
    workers[sys.argv[1]](*sys.argv[2:])
