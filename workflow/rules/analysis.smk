FIGURES = ["raster_rates", "kernels", "laminar_lfp", "cdm", "eeg", "spectra"]
if config["kernels"]["probes"]["csd"]:
    FIGURES.append("csd")
if config["forward"]["meg"]["enabled"]:
    FIGURES.append("meg")


rule run_config:
    input:
        kernels=lambda wildcards: kernel_files(wildcards.run),
    output:
        "results/{run}/config.yaml",
    params:
        config=lambda wildcards: RUNS[wildcards.run],
        kernels_dir=lambda wildcards: kernels_dir(wildcards.run),
    log:
        "logs/{run}/run_config.log",
    conda:
        "../../environment.yml"
    script:
        "../scripts/run_config.py"


rule summary:
    input:
        spikes="results/{run}/network/spikes.h5",
        signals="results/{run}/signals.h5",
        benchmarks=lambda wildcards: [
            f"benchmarks/{wildcards.run}/network.tsv",
            f"benchmarks/{wildcards.run}/forward.tsv",
            *kernel_benchmarks(wildcards.run),
        ],
    output:
        "results/{run}/summary.json",
    params:
        config=run_stage_config("analysis"),
        kernels_dir=lambda wildcards: kernels_dir(wildcards.run),
    log:
        "logs/{run}/summary.log",
    benchmark:
        "benchmarks/{run}/summary.tsv"
    conda:
        "../../environment.yml"
    script:
        "../scripts/summary.py"


rule figures:
    input:
        spikes="results/{run}/network/spikes.h5",
        rates="results/{run}/network/rates.h5",
        kernels=lambda wildcards: kernel_files(wildcards.run),
        signals="results/{run}/signals.h5",
    output:
        report(
            expand("results/{{run}}/figures/{name}.png", name=FIGURES),
            category="LFP pipeline",
            subcategory="{run}",
            caption="../report/figures.rst",
        ),
    params:
        config=run_stage_config("analysis"),
    log:
        "logs/{run}/figures.log",
    benchmark:
        "benchmarks/{run}/figures.tsv"
    conda:
        "../../environment.yml"
    script:
        "../scripts/figures.py"


# Laminar figures (lfpflow.figures.laminar) for layered circuits: runs with
# more than two populations (the default E/I run keeps its figure set).
LAMINAR_FIGURES = ["lfp_csd", "population_activity", "lfp_contributions", "lfp_spectra"]
LAMINAR_RUNS = [run for run, run_config in RUNS.items() if len(run_config["populations"]) > 2]


rule laminar_figures:
    input:
        spikes="results/{run}/network/spikes.h5",
        rates="results/{run}/network/rates.h5",
        signals="results/{run}/signals.h5",
    output:
        report(
            expand("results/{{run}}/figures/laminar/{name}.png", name=LAMINAR_FIGURES),
            category="Laminar",
            subcategory="{run}",
            caption="../report/figures.rst",
        ),
    params:
        config=run_stage_config("analysis"),
    log:
        "logs/{run}/laminar_figures.log",
    benchmark:
        "benchmarks/{run}/laminar_figures.tsv"
    conda:
        "../../environment.yml"
    script:
        "../scripts/laminar_figures.py"


if SWEEP_POINTS:

    rule sweep_summary:
        input:
            summaries=[f"results/{point.run_id}/summary.json" for point in SWEEP_POINTS],
        output:
            table=SWEEP_TABLE,
            figure=report(SWEEP_FIGURE, category="Sweep", caption="../report/sweep.rst"),
        params:
            points=[
                {"run": point.run_id, "parameters": point.parameters} for point in SWEEP_POINTS
            ],
        log:
            f"logs/sweeps/{config['run_name']}/sweep_summary.log",
        benchmark:
            f"benchmarks/sweeps/{config['run_name']}/sweep_summary.tsv"
        conda:
            "../../environment.yml"
        script:
            "../scripts/sweep_summary.py"


rule analysis_all:
    input:
        expand("results/{run}/summary.json", run=RUNS),
        expand("results/{run}/config.yaml", run=RUNS),
        expand("results/{run}/figures/{name}.png", run=RUNS, name=FIGURES),
        expand(
            "results/{run}/figures/laminar/{name}.png", run=LAMINAR_RUNS, name=LAMINAR_FIGURES
        ),
        [SWEEP_TABLE, SWEEP_FIGURE] if SWEEP_POINTS else [],
