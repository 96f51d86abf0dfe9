# Ground truth: a downscaled multicompartment (MC) network (LFPy/NEURON) against
# the kernel prediction for the same network (issue 6; docs/groundtruth.md).
# Target: `snakemake --cores 2 groundtruth` -> {RUN}/groundtruth/.
# Every rule gets as params the config scope it depends on (seed,
# simulation.dt_ms, kernels, groundtruth, forward), keys sorted.

GROUNDTRUTH_CONFIG = stage_config(config, "groundtruth")
GROUNDTRUTH = f"{RUN}/groundtruth"
GROUNDTRUTH_POPULATIONS = sorted(config["populations"])
GROUNDTRUTH_KERNELS = [
    f"{GROUNDTRUTH}/kernels/{post}_{pre}.h5"
    for post in GROUNDTRUTH_POPULATIONS
    for pre in GROUNDTRUTH_POPULATIONS
]
GROUNDTRUTH_FIGURES = [f"{GROUNDTRUTH}/figures/{name}.png" for name in ("overlay", "r2_depth")]
# groundtruth.presynaptic_spikes: network replays the network stage's spikes
GROUNDTRUTH_NETWORK_SPIKES = (
    [f"{RUN}/network/spikes.h5"] if config["groundtruth"]["presynaptic_spikes"] == "network" else []
)
# MORPHOLOGY_DIR: common.smk (lfpflow.multicompartment.morphology.morphology_dir)
GROUNDTRUTH_MORPHOLOGIES = sorted(
    {f"{MORPHOLOGY_DIR}/{pop['cell']['morphology']}" for pop in config["populations"].values()}
)


rule groundtruth_simulate:
    input:
        mechanisms="build/mechanisms",
        morphologies=GROUNDTRUTH_MORPHOLOGIES,
        network_spikes=GROUNDTRUTH_NETWORK_SPIKES,
    output:
        spikes=f"{GROUNDTRUTH}/spikes.h5",
        signals=f"{GROUNDTRUTH}/signals.h5",
    params:
        config=GROUNDTRUTH_CONFIG,
        # a lambda: a plain path here makes `snakemake --lint` warn of a hard-coded path
        morphology_dir=lambda wildcards: MORPHOLOGY_DIR,
    threads: config["groundtruth"]["n_threads"]
    log:
        f"{LOGS}/groundtruth_simulate.log",
    benchmark:
        f"{BENCHMARKS}/groundtruth_simulate.tsv"
    conda:
        "../../environment.yml"
    script:
        "../scripts/groundtruth_simulate.py"


rule groundtruth_kernel:
    input:
        mechanisms="build/mechanisms",
        morphologies=GROUNDTRUTH_MORPHOLOGIES,
        spikes=f"{GROUNDTRUTH}/spikes.h5",
        truth=f"{GROUNDTRUTH}/signals.h5",  # measured linearisation potentials
    output:
        f"{GROUNDTRUTH}/kernels/{{post}}_{{pre}}.h5",
    params:
        config=GROUNDTRUTH_CONFIG,
        # a lambda: a plain path here makes `snakemake --lint` warn of a hard-coded path
        morphology_dir=lambda wildcards: MORPHOLOGY_DIR,
    log:
        f"{LOGS}/groundtruth_kernel_{{post}}_{{pre}}.log",
    benchmark:
        f"{BENCHMARKS}/groundtruth_kernel_{{post}}_{{pre}}.tsv"
    conda:
        "../../environment.yml"
    script:
        "../scripts/groundtruth_kernel.py"


rule groundtruth_predict:
    input:
        spikes=f"{GROUNDTRUTH}/spikes.h5",
        truth=f"{GROUNDTRUTH}/signals.h5",  # network description, potentials
        kernels=GROUNDTRUTH_KERNELS,
    output:
        f"{GROUNDTRUTH}/predicted.h5",
    params:
        config=GROUNDTRUTH_CONFIG,
    log:
        f"{LOGS}/groundtruth_predict.log",
    benchmark:
        f"{BENCHMARKS}/groundtruth_predict.tsv"
    conda:
        "../../environment.yml"
    script:
        "../scripts/groundtruth_predict.py"


rule groundtruth_compare:
    input:
        truth=f"{GROUNDTRUTH}/signals.h5",
        predicted=f"{GROUNDTRUTH}/predicted.h5",
    output:
        f"{GROUNDTRUTH}/comparison.json",
    params:
        config=GROUNDTRUTH_CONFIG,
    log:
        f"{LOGS}/groundtruth_compare.log",
    benchmark:
        f"{BENCHMARKS}/groundtruth_compare.tsv"
    conda:
        "../../environment.yml"
    script:
        "../scripts/groundtruth_compare.py"


rule groundtruth_figures:
    input:
        truth=f"{GROUNDTRUTH}/signals.h5",
        predicted=f"{GROUNDTRUTH}/predicted.h5",
        comparison=f"{GROUNDTRUTH}/comparison.json",
    output:
        report(
            GROUNDTRUTH_FIGURES,
            category="Ground truth",
            caption="../report/groundtruth.rst",
        ),
    params:
        config=GROUNDTRUTH_CONFIG,
    log:
        f"{LOGS}/groundtruth_figures.log",
    benchmark:
        f"{BENCHMARKS}/groundtruth_figures.tsv"
    conda:
        "../../environment.yml"
    script:
        "../scripts/groundtruth_figures.py"


rule groundtruth:
    input:
        f"{GROUNDTRUTH}/spikes.h5",
        f"{GROUNDTRUTH}/signals.h5",
        f"{GROUNDTRUTH}/predicted.h5",
        f"{GROUNDTRUTH}/comparison.json",
        GROUNDTRUTH_FIGURES,
