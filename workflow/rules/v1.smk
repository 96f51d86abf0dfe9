# V1 model of Rentzeperis, Prandi & Bertalmio (2025, J Neurosci): one rule per
# experiment, a summary and the target `v1`. Independent of the LFP rules.
#
# Expects `config["v1"]` validated against src/lfpflow/config/schemas/v1.schema.yaml with
# defaults filled (common.smk). Each experiment receives, as `params.config`,
# only the configuration it depends on (the shared model keys and its own
# section), so changing one experiment's parameters reruns only that experiment.

from lfpflow.v1 import EXPERIMENTS as V1_EXPERIMENTS
from lfpflow.v1 import FIGURES as V1_FIGURES
from lfpflow.config.scopes import v1_experiment_scope
from lfpflow.v1.data import locate as v1_locate_data

V1 = config["v1"]
# Snakemake's `report()` flag (aliased: a line starting with `report` parses as the directive)
V1_REPORT = report
# per experiment: the part of config["v1"] it depends on (its params)
V1_PARAMS = {
    experiment: v1_experiment_scope(V1, experiment) for experiment in V1_EXPERIMENTS
}
# experimental data read by an experiment (tracked as input): a CSV shipped in
# lfpflow.v1.data (bare file name, the default) or the user's file (a path with '/')
V1_DATA = {
    experiment: str(v1_locate_data(V1[experiment]["data_file"]))
    for experiment in V1_EXPERIMENTS
    if "data_file" in V1[experiment]
}
# figure outputs, shown in the Snakemake report
V1_FIGURE_FILES = {
    experiment: [
        V1_REPORT(
            f"results/v1/figures/{name}.png",
            caption=f"../report/v1_{experiment}.rst",
            category="V1 model",
            subcategory=experiment,
        )
        for name in V1_FIGURES[experiment]
    ]
    for experiment in V1_EXPERIMENTS
}


rule v1_simple_complex:
    output:
        h5="results/v1/simple_complex.h5",
        figures=V1_FIGURE_FILES["simple_complex"],
    params:
        experiment="simple_complex",
        config=V1_PARAMS["simple_complex"],
    log:
        "logs/v1/simple_complex.log",
    benchmark:
        "benchmarks/v1/simple_complex.tsv"
    threads: 1
    conda:
        "../../environment.yml"
    script:
        "../scripts/v1_experiment.py"


rule v1_perturbations:
    output:
        h5="results/v1/perturbations.h5",
        figures=V1_FIGURE_FILES["perturbations"],
    params:
        experiment="perturbations",
        config=V1_PARAMS["perturbations"],
    log:
        "logs/v1/perturbations.log",
    benchmark:
        "benchmarks/v1/perturbations.tsv"
    threads: 1
    conda:
        "../../environment.yml"
    script:
        "../scripts/v1_experiment.py"


rule v1_input_statistics:
    input:
        data=V1_DATA["input_statistics"],
    output:
        h5="results/v1/input_statistics.h5",
        figures=V1_FIGURE_FILES["input_statistics"],
    params:
        experiment="input_statistics",
        config=V1_PARAMS["input_statistics"],
    log:
        "logs/v1/input_statistics.log",
    benchmark:
        "benchmarks/v1/input_statistics.tsv"
    threads: 1
    conda:
        "../../environment.yml"
    script:
        "../scripts/v1_experiment.py"


rule v1_contrast:
    input:
        data=V1_DATA["contrast"],
    output:
        h5="results/v1/contrast.h5",
        figures=V1_FIGURE_FILES["contrast"],
    params:
        experiment="contrast",
        config=V1_PARAMS["contrast"],
    log:
        "logs/v1/contrast.log",
    benchmark:
        "benchmarks/v1/contrast.tsv"
    threads: 1
    conda:
        "../../environment.yml"
    script:
        "../scripts/v1_experiment.py"


rule v1_orientation_sharpening:
    output:
        h5="results/v1/orientation_sharpening.h5",
        figures=V1_FIGURE_FILES["orientation_sharpening"],
    params:
        experiment="orientation_sharpening",
        config=V1_PARAMS["orientation_sharpening"],
    log:
        "logs/v1/orientation_sharpening.log",
    benchmark:
        "benchmarks/v1/orientation_sharpening.tsv"
    threads: 1
    conda:
        "../../environment.yml"
    script:
        "../scripts/v1_experiment.py"


rule v1_receptive_field:
    output:
        h5="results/v1/receptive_field.h5",
        figures=V1_FIGURE_FILES["receptive_field"],
    params:
        experiment="receptive_field",
        config=V1_PARAMS["receptive_field"],
    log:
        "logs/v1/receptive_field.log",
    benchmark:
        "benchmarks/v1/receptive_field.tsv"
    threads: 1
    conda:
        "../../environment.yml"
    script:
        "../scripts/v1_experiment.py"


rule v1_summary:
    input:
        **{name: f"results/v1/{name}.h5" for name in V1_EXPERIMENTS},
        # wall-clock time of each experiment's job, recorded in the summary
        **{f"{name}_benchmark": f"benchmarks/v1/{name}.tsv" for name in V1_EXPERIMENTS},
    output:
        "results/v1/summary.json",
    log:
        "logs/v1/summary.log",
    benchmark:
        "benchmarks/v1/summary.tsv"
    threads: 1
    conda:
        "../../environment.yml"
    script:
        "../scripts/v1_summary.py"


rule v1:
    input:
        "results/v1/summary.json",
        expand("results/v1/{experiment}.h5", experiment=V1_EXPERIMENTS),
        [
            f"results/v1/figures/{name}.png"
            for experiment in V1_EXPERIMENTS
            for name in V1_FIGURES[experiment]
        ],
