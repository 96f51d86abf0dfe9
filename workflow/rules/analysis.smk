FIGURES = ["raster_rates", "kernels", "laminar_lfp", "cdm", "eeg", "spectra"]
if config["kernels"]["probes"]["csd"]:
    FIGURES.append("csd")
if config["forward"]["meg"]["enabled"]:
    FIGURES.append("meg")


rule summary:
    input:
        spikes=f"{RUN}/network/spikes.h5",
        signals=f"{RUN}/signals.h5",
        benchmarks=[f"{BENCHMARKS}/network.tsv", f"{BENCHMARKS}/forward.tsv"]
        + [f"{BENCHMARKS}/kernel_{post}_{pre}.tsv" for post, pre in PATHWAYS],
    output:
        f"{RUN}/summary.json",
    params:
        config=stage_config(config, "analysis"),
    log:
        f"{LOGS}/summary.log",
    benchmark:
        f"{BENCHMARKS}/summary.tsv"
    conda:
        "../../environment.yml"
    script:
        "../scripts/summary.py"


rule figures:
    input:
        spikes=f"{RUN}/network/spikes.h5",
        rates=f"{RUN}/network/rates.h5",
        kernels=kernel_files(),
        signals=f"{RUN}/signals.h5",
    output:
        report(
            expand(f"{RUN}/figures/{{name}}.png", name=FIGURES),
            category="LFP pipeline",
            caption="../report/figures.rst",
        ),
    params:
        config=stage_config(config, "analysis"),
    log:
        f"{LOGS}/figures.log",
    benchmark:
        f"{BENCHMARKS}/figures.tsv"
    conda:
        "../../environment.yml"
    script:
        "../scripts/figures.py"


rule analysis_all:
    input:
        f"{RUN}/summary.json",
        expand(f"{RUN}/figures/{{name}}.png", name=FIGURES),
