"""Catalogue of point-neuron models: config names -> NEST models and parameters.

Pure data and translation (no NEST import). Each entry names the NEST model
that implements it, the parameters a configuration may set (with units and
defaults), the NEST settings the entry implies, and the kind of synaptic input
it takes, which fixes the units of connection weights:

- ``current``: weights are current amplitudes (pA), sign = excitatory/inhibitory;
- ``conductance``: weights are peak conductances (nS), sign selects the
  excitatory or inhibitory receptor;
- ``voltage``: weights are membrane potential jumps (mV) (NEST ``izhikevich``).

Names and equations:

- ``lif``: NEST ``iaf_psc_exp`` (GLIF1 in the Allen Institute's naming,
  Teeter et al. 2018, Nat Commun 9:709): tau_m dV/dt = -(V - E_L) + R I, reset to
  V_reset.
- ``glif2``: leaky integrate-and-fire with biologically defined reset rules
  (GLIF2, Teeter et al. 2018): after each spike the threshold component theta
  jumps by d_theta and decays with rate lambda_theta, and the voltage resets to
  E_L + m_v (V - E_L) - b_v (V: the membrane potential at the start of the
  step in which the threshold is crossed). NEST ``glif_psc`` with only
  ``spike_dependent_threshold`` switched on; NEST adds its
  ``voltage_reset_add``, so that is -b_v here (NEST's default +18.51 mV is
  b_v = -18.51 mV). NEST decays theta over t_ref at the spike and holds it
  while refractory.
- ``alif``: adaptive-threshold LIF, the same threshold dynamics with time
  constant tau_theta = 1 / lambda_theta, and the voltage reset to V_reset
  (``glif_psc`` with m_v = 0 and ``voltage_reset_add`` = V_reset - E_L).
- ``hh``: Hodgkin-Huxley, NEST ``hh_psc_alpha``.
- ``izhikevich2003``: NEST ``izhikevich`` (Izhikevich 2003, IEEE TNN 14:1569).
- ``izhikevich_rs``, ``izhikevich_fs``: the Izhikevich (2007) simple model with
  AMPA, NMDA, GABA_A and GABA_B conductances, our NESTML model
  (nestml/izhikevich2007_cond.nestml), regular- and fast-spiking parameter sets
  of Izhikevich & Edelman (2008, PNAS 105:3593).
- ``iaf_cond_exp``: conductance-based LIF, NEST ``iaf_cond_exp``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

#: Name of the NEST module our NESTML models are built into.
NESTML_MODULE = "lfpflowmodule"

#: Config key of the weights onto a model, per kind of synapse (module docstring).
WEIGHT_KEY_OF_SYNAPSE = {"current": "weight_pA", "conductance": "weight_nS", "voltage": "weight_mV"}

#: Weight keys, one per kind of synapse: a connection, the drive or a Poisson
#: input gives exactly the one of its target model (``NeuronModel.weight_key``).
WEIGHT_KEYS = tuple(WEIGHT_KEY_OF_SYNAPSE.values())


@dataclass(frozen=True)
class Parameter:
    """A parameter a configuration may set.

    Attributes
    ----------
    default : float
        Value when the configuration does not set it.
    units : str
        Physical units (``"1"`` for dimensionless).
    description : str
        What it is.
    nest_name : str or None
        NEST parameter it sets directly; None when :attr:`NeuronModel.translate`
        derives the NEST values from it.
    """

    default: float
    units: str
    description: str
    nest_name: str | None = None


@dataclass(frozen=True)
class NeuronModel:
    """One catalogue entry (see the module docstring)."""

    name: str
    nest_model: str
    description: str
    synapse: str  # "current" | "conductance" | "voltage"
    parameters: Mapping[str, Parameter]
    fixed: Mapping[str, Any] = field(default_factory=dict)
    nestml_model: str | None = None
    translate: Callable[[Mapping[str, float]], dict[str, Any]] | None = None
    #: NEST receptor port per input sign (models with port-based synapses)
    receptors: Mapping[str, int] | None = None

    @property
    def weight_key(self) -> str:
        """The config key of connection weights onto this model."""
        return WEIGHT_KEY_OF_SYNAPSE[self.synapse]

    def resolved_params(self, params: Mapping[str, float]) -> dict[str, float]:
        """Defaults overlaid with ``params`` (config names)."""
        unknown = sorted(set(params) - set(self.parameters))
        if unknown:
            raise ValueError(
                f"model {self.name!r} has no parameter {', '.join(map(repr, unknown))}; "
                f"allowed: {', '.join(self.parameters)}"
            )
        values = {name: p.default for name, p in self.parameters.items()}
        values.update({name: float(value) for name, value in params.items()})
        return values

    def nest_status(self, params: Mapping[str, float]) -> dict[str, Any]:
        """NEST status dict for ``nest.Create`` from config-named ``params``."""
        values = self.resolved_params(params)
        status: dict[str, Any] = dict(self.fixed)
        for name, parameter in self.parameters.items():
            if parameter.nest_name is not None:
                status[parameter.nest_name] = values[name]
        if self.translate is not None:
            status.update(self.translate(values))
        return status


def _p(default: float, units: str, description: str, nest_name: str | None = "") -> Parameter:
    return Parameter(float(default), units, description, nest_name)


def _named(parameters: dict[str, Parameter]) -> dict[str, Parameter]:
    # nest_name "" means "same name as in the config"
    return {
        name: Parameter(
            p.default, p.units, p.description, name if p.nest_name == "" else p.nest_name
        )
        for name, p in parameters.items()
    }


_LIF = _named(
    {
        "C_m": _p(250.0, "pF", "membrane capacitance"),
        "tau_m": _p(10.0, "ms", "membrane time constant"),
        "E_L": _p(-70.0, "mV", "resting potential"),
        "V_th": _p(-55.0, "mV", "spike threshold"),
        "V_reset": _p(-70.0, "mV", "reset potential"),
        "t_ref": _p(2.0, "ms", "refractory period"),
        "tau_syn_ex": _p(2.0, "ms", "excitatory synaptic time constant"),
        "tau_syn_in": _p(2.0, "ms", "inhibitory synaptic time constant"),
        "I_e": _p(0.0, "pA", "constant input current"),
    }
)

# GLIF parameters: the Allen Institute's mouse V1 cell 490626718 values that
# NEST ships as glif_psc defaults (Teeter et al. 2018), except the synaptic
# time constant, which the network's current-based synapses set.
_GLIF_COMMON = {
    "C_m": _p(58.72, "pF", "membrane capacitance"),
    "g": _p(9.43, "nS", "membrane (leak) conductance"),
    "E_L": _p(-78.85, "mV", "resting potential"),
    "V_th": _p(-51.68, "mV", "baseline spike threshold (absolute)"),
    "t_ref": _p(3.75, "ms", "refractory period"),
    "tau_syn": _p(2.0, "ms", "synaptic time constant (one port for E and I inputs)"),
    "d_theta": _p(0.37, "mV", "threshold jump per spike", "th_spike_add"),
}


def _glif2_translate(values: Mapping[str, float]) -> dict[str, Any]:
    return {
        "tau_syn": [values["tau_syn"]],
        "th_spike_decay": values["lambda_theta"],
        "voltage_reset_fraction": values["m_v"],
        # NEST: V <- E_L + m_v (V - E_L) + voltage_reset_add
        "voltage_reset_add": -values["b_v"],
    }


def _alif_translate(values: Mapping[str, float]) -> dict[str, Any]:
    # reset to V_reset: NEST's V <- E_L + 0 * (V - E_L) + (V_reset - E_L)
    return {
        "tau_syn": [values["tau_syn"]],
        "th_spike_decay": 1.0 / values["tau_theta"],
        "voltage_reset_fraction": 0.0,
        "voltage_reset_add": values["V_reset"] - values["E_L"],
    }


_GLIF_FLAGS = {
    "spike_dependent_threshold": True,
    "after_spike_currents": False,
    "adapting_threshold": False,
}

_IZH2007_SYNAPSES = {
    "tau_AMPA": _p(5.0, "ms", "AMPA conductance decay"),
    "tau_NMDA": _p(100.0, "ms", "NMDA conductance decay"),
    "tau_GABA_A": _p(6.0, "ms", "GABA_A conductance decay"),
    "tau_GABA_B": _p(150.0, "ms", "GABA_B conductance decay"),
    "E_AMPA": _p(0.0, "mV", "AMPA reversal potential"),
    "E_NMDA": _p(0.0, "mV", "NMDA reversal potential"),
    "E_GABA_A": _p(-70.0, "mV", "GABA_A reversal potential"),
    "E_GABA_B": _p(-90.0, "mV", "GABA_B reversal potential"),
    "NMDA_ratio": _p(1.0, "1", "NMDA peak conductance per unit of excitatory weight"),
    "GABA_B_ratio": _p(1.0, "1", "GABA_B peak conductance per unit of inhibitory weight"),
    "I_e": _p(0.0, "pA", "constant input current"),
}


def _izhikevich2007_translate(values: Mapping[str, float]) -> dict[str, Any]:
    # NESTML's initial V_m is a fixed -60 mV; start every cell at its own rest
    return {"V_m": values["v_r"], "u": 0.0}


def _izhikevich2007(values: dict[str, float]) -> dict[str, Parameter]:
    units = {
        "C": ("pF", "membrane capacitance"),
        "k": ("nS/mV", "gain of the quadratic term"),
        "v_r": ("mV", "resting potential"),
        "v_t": ("mV", "instantaneous threshold potential"),
        "v_peak": ("mV", "spike cut-off"),
        "a": ("1/ms", "recovery rate"),
        "b": ("nS", "sensitivity of u to v"),
        "c": ("mV", "reset potential"),
        "d": ("pA", "jump of u at a spike"),
    }
    named = {name: _p(values[name], *units[name]) for name in units}
    return _named({**named, **_IZH2007_SYNAPSES})


def _izhikevich2007_model(name: str, kind: str, **values: float) -> NeuronModel:
    return NeuronModel(
        name,
        "izhikevich2007_cond_neuron",
        f"Izhikevich (2007) simple model, {kind}, AMPA/NMDA/GABA_A/GABA_B",
        "conductance",
        _izhikevich2007(values),
        nestml_model="izhikevich2007_cond",
        translate=_izhikevich2007_translate,
    )


CATALOGUE: dict[str, NeuronModel] = {
    "lif": NeuronModel(
        "lif", "iaf_psc_exp", "leaky integrate-and-fire, exponential PSCs (GLIF1)", "current", _LIF
    ),
    "glif2": NeuronModel(
        "glif2",
        "glif_psc",
        "LIF with spike-triggered threshold and biological voltage reset (GLIF2)",
        "current",
        _named(
            {
                **_GLIF_COMMON,
                "lambda_theta": _p(0.009, "1/ms", "decay rate of the threshold jump", None),
                "m_v": _p(0.2, "1", "voltage reset fraction (m_v)", None),
                "b_v": _p(
                    -18.51, "mV", "voltage reset offset: V <- E_L + m_v (V - E_L) - b_v", None
                ),
            }
        ),
        fixed=_GLIF_FLAGS,
        translate=_glif2_translate,
        receptors={"excitatory": 1, "inhibitory": 1},
    ),
    "alif": NeuronModel(
        "alif",
        "glif_psc",
        "adaptive-threshold LIF, reset to V_reset",
        "current",
        _named(
            {
                **_GLIF_COMMON,
                "V_reset": _p(-78.85, "mV", "reset potential", None),
                "tau_theta": _p(111.1, "ms", "decay time constant of the threshold jump", None),
            }
        ),
        fixed=_GLIF_FLAGS,
        translate=_alif_translate,
        receptors={"excitatory": 1, "inhibitory": 1},
    ),
    "hh": NeuronModel(
        "hh",
        "hh_psc_alpha",
        "Hodgkin-Huxley, alpha-shaped PSCs",
        "current",
        _named(
            {
                "C_m": _p(100.0, "pF", "membrane capacitance"),
                "g_Na": _p(12000.0, "nS", "sodium peak conductance"),
                "g_K": _p(3600.0, "nS", "potassium peak conductance"),
                "g_L": _p(30.0, "nS", "leak conductance"),
                "E_Na": _p(50.0, "mV", "sodium reversal potential"),
                "E_K": _p(-77.0, "mV", "potassium reversal potential"),
                "E_L": _p(-54.402, "mV", "leak reversal potential"),
                "t_ref": _p(2.0, "ms", "refractory period of spike detection"),
                "tau_syn_ex": _p(0.2, "ms", "excitatory alpha time constant"),
                "tau_syn_in": _p(2.0, "ms", "inhibitory alpha time constant"),
                "I_e": _p(0.0, "pA", "constant input current"),
            }
        ),
    ),
    "izhikevich2003": NeuronModel(
        "izhikevich2003",
        "izhikevich",
        "Izhikevich (2003) model, voltage-jump synapses",
        "voltage",
        _named(
            {
                "a": _p(0.02, "1/ms", "recovery rate"),
                "b": _p(0.2, "1", "sensitivity of U_m to V_m"),
                "c": _p(-65.0, "mV", "reset potential"),
                "d": _p(8.0, "mV/ms", "jump of U_m at a spike"),
                "V_th": _p(30.0, "mV", "spike cut-off"),
                "I_e": _p(0.0, "pA", "constant input current"),
            }
        ),
    ),
    # Izhikevich & Edelman (2008, PNAS 105:3593) regular- and fast-spiking cells
    "izhikevich_rs": _izhikevich2007_model(
        "izhikevich_rs",
        "regular spiking",
        C=100,
        k=3,
        v_r=-60,
        v_t=-50,
        v_peak=50,
        a=0.01,
        b=5,
        c=-60,
        d=400,
    ),
    "izhikevich_fs": _izhikevich2007_model(
        "izhikevich_fs",
        "fast spiking",
        C=20,
        k=1,
        v_r=-55,
        v_t=-40,
        v_peak=25,
        a=0.15,
        b=8,
        c=-55,
        d=200,
    ),
    "iaf_cond_exp": NeuronModel(
        "iaf_cond_exp",
        "iaf_cond_exp",
        "conductance-based LIF, exponential conductances",
        "conductance",
        _named(
            {
                "C_m": _p(250.0, "pF", "membrane capacitance"),
                "g_L": _p(16.6667, "nS", "leak conductance"),
                "E_L": _p(-70.0, "mV", "leak reversal potential"),
                "V_th": _p(-55.0, "mV", "spike threshold"),
                "V_reset": _p(-60.0, "mV", "reset potential"),
                "t_ref": _p(2.0, "ms", "refractory period"),
                "E_ex": _p(0.0, "mV", "excitatory reversal potential"),
                "E_in": _p(-85.0, "mV", "inhibitory reversal potential"),
                "tau_syn_ex": _p(0.2, "ms", "excitatory conductance time constant"),
                "tau_syn_in": _p(2.0, "ms", "inhibitory conductance time constant"),
                "I_e": _p(0.0, "pA", "constant input current"),
            }
        ),
    ),
}


def get_model(name: str) -> NeuronModel:
    """The catalogue entry ``name``; ValueError listing the allowed names otherwise."""
    try:
        return CATALOGUE[name]
    except KeyError:
        raise ValueError(
            f"unknown neuron model {name!r}; allowed values: {', '.join(CATALOGUE)}"
        ) from None


def nest_models(model_names: Iterable[str]) -> dict[str, str]:
    """Catalogue name -> NEST model of each of ``model_names``, sorted by catalogue name.

    What :func:`lfpflow.formats.nwb.export_nwb` names in the units table
    (``nest_models``); duplicates are named once.
    """
    return {name: get_model(name).nest_model for name in sorted(set(model_names))}


def uses_nestml(models: list[str]) -> bool:
    """Whether any of these catalogue names needs our NESTML module."""
    return any(get_model(name).nestml_model is not None for name in models)


def catalogue_table() -> str:
    """Markdown table of every model and parameter (for the README)."""
    lines = ["| model | NEST model | weights | parameters (units, default) |", "|---|---|---|---|"]
    for model in CATALOGUE.values():
        params = ", ".join(
            f"`{name}` ({p.units}, {p.default:g})" for name, p in model.parameters.items()
        )
        lines.append(f"| `{model.name}` | `{model.nest_model}` | `{model.weight_key}` | {params} |")
    return "\n".join(lines)
