COMMENT
ConstantCurrent: a constant transmembrane current at one point.

Written for lfpflow. It carries the mean synaptic input that a ground-truth
network with scaled-down in-degrees (groundtruth.k_scale < 1) no longer
receives through its synapses (lfpflow.multicompartment.compensation).

Sign convention as CurrExp2Syn: a POSITIVE amp is an INWARD (depolarising)
current; NEURON counts a NONSPECIFIC_CURRENT positive when outward, so i = -amp.

It is a NONSPECIFIC_CURRENT, a membrane current like a synapse's: it is part
of i_membrane_, the membrane currents of a cell still sum to zero, and LFPy's
extracellular signals see it (a constant, which the ground-truth comparison
removes with the signal means). An ELECTRODE_CURRENT (IClamp) would not be
part of i_membrane_ and would leave each cell with a net monopole.
ENDCOMMENT

NEURON {
    POINT_PROCESS ConstantCurrent
    RANGE amp, i
    NONSPECIFIC_CURRENT i
}

UNITS {
    (nA) = (nanoamp)
}

PARAMETER {
    amp = 0 (nA)
}

ASSIGNED {
    i (nA)
}

BREAKPOINT {
    i = -amp
}
