COMMENT
CurrExp2Syn: current-based synapse with a double-exponential time course.

Written for lfpflow. Each event of weight w (nA) adds the current

    I(t) = w * s * (exp(-t/tau2) - exp(-t/tau1)),   t >= 0 after the event,

where s = 1 / (exp(-t_peak/tau2) - exp(-t_peak/tau1)) and
t_peak = tau1*tau2/(tau2 - tau1) * ln(tau2/tau1), so that one event peaks at
exactly w (nA) at t_peak (the normalisation of NEURON's Exp2Syn, applied to a
current instead of a conductance). Events superpose linearly; the current does
not depend on the membrane potential.

Sign convention: a POSITIVE weight gives an INWARD (depolarising) current. As
NEURON counts a NONSPECIFIC_CURRENT positive when outward, the variable i is
negative while a positive-weight event acts: i = -I(t).

The current is a NONSPECIFIC_CURRENT (a transmembrane current), so it is part
of i_membrane_ and hence of the extracellular potential computed by LFPy;
an ELECTRODE_CURRENT would not be.

Parameters: tau1 (ms) rise and tau2 (ms) decay time constants, tau1 < tau2.
Equal values are the alpha-function limit, where the formula above is 0/0;
then tau1 is used as 0.9999*tau2 (the same guard as NEURON's Exp2Syn).
ENDCOMMENT

NEURON {
    POINT_PROCESS CurrExp2Syn
    RANGE tau1, tau2, i
    NONSPECIFIC_CURRENT i
}

UNITS {
    (nA) = (nanoamp)
}

PARAMETER {
    tau1 = 0.2 (ms) <1e-9, 1e9>
    tau2 = 1.8 (ms) <1e-9, 1e9>
}

ASSIGNED {
    i (nA)
    tau_rise (ms)   : tau1, kept away from tau2 (see the guard in INITIAL)
    peak_norm (1)   : s above: makes the peak of one event equal its weight
}

STATE {
    rise_part (nA)
    decay_part (nA)
}

INITIAL {
    LOCAL t_peak
    tau_rise = tau1
    if (tau_rise / tau2 > 0.9999) {
        tau_rise = 0.9999 * tau2
    }
    rise_part = 0
    decay_part = 0
    t_peak = tau_rise * tau2 / (tau2 - tau_rise) * log(tau2 / tau_rise)
    peak_norm = 1 / (exp(-t_peak / tau2) - exp(-t_peak / tau_rise))
}

BREAKPOINT {
    SOLVE kinetics METHOD cnexp
    : decay_part - rise_part is the inward current; outward-positive for NEURON
    i = rise_part - decay_part
}

DERIVATIVE kinetics {
    rise_part' = -rise_part / tau_rise
    decay_part' = -decay_part / tau2
}

NET_RECEIVE(weight (nA)) {
    rise_part = rise_part + weight * peak_norm
    decay_part = decay_part + weight * peak_norm
}
