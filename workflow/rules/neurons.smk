# Single-neuron characterisation of every point-neuron model in the catalogue
# (src/lfpflow/pointneuron/catalogue.py): rheobase, F-I curves under DC and white
# noise, CV of ISI, an example step response. One job per model; the target
# `neurons` runs them all. Independent of the network run (results/neurons/, not results/<run>/).
#
# Expects `config` resolved (common.smk: every default of the schema filled in,
# checked by lfpflow.pointneuron.checks.check_neurons); reads its `neurons` section as
# it is. Each job receives, as `params.config`, only what its model depends on
# (lfpflow.pointneuron.single_neuron.model_scope), so changing one model's
# overrides reruns only that model.

import glob

from lfpflow.pointneuron.catalogue import CATALOGUE
from lfpflow.pointneuron.nestml_build import NESTML_BUILD_DIR
from lfpflow.pointneuron.single_neuron import model_scope

NEURON_MODELS = list(CATALOGUE)
NEURONS = config["neurons"]

# models built with NESTML need the module folder (rule build_nestml)
NESTML_MODELS = [name for name, model in CATALOGUE.items() if model.nestml_model is not None]


rule build_nestml:
    input:
        sorted(glob.glob("nestml/*.nestml")),
    output:
        directory(NESTML_BUILD_DIR),
    log:
        "logs/neurons/build_nestml.log",
    benchmark:
        "benchmarks/neurons/build_nestml.tsv"
    conda:
        "../../environment.yml"
    script:
        "../scripts/build_nestml.py"


rule neuron_characterisation:
    input:
        unpack(
            lambda wildcards: {"nestml": NESTML_BUILD_DIR}
            if wildcards.model in NESTML_MODELS
            else {}
        ),
    output:
        h5="results/neurons/{model}.h5",
        figure=report(
            "results/neurons/figures/{model}.png",
            category="Single neurons",
            caption="../report/neurons.rst",
        ),
    wildcard_constraints:
        model="|".join(NEURON_MODELS),
    params:
        config=lambda wildcards: model_scope(config, wildcards.model),
    threads: NEURONS["n_vp"]
    log:
        "logs/neurons/{model}.log",
    benchmark:
        "benchmarks/neurons/{model}.tsv"
    conda:
        "../../environment.yml"
    script:
        "../scripts/neuron_characterisation.py"


# only an echo: on a cluster it runs where Snakemake runs, not as a job of its own
localrules:
    neurons,


rule neurons:
    input:
        expand("results/neurons/{model}.h5", model=NEURON_MODELS),
        expand("results/neurons/figures/{model}.png", model=NEURON_MODELS),
    log:
        "logs/neurons/neurons.log",
    benchmark:
        "benchmarks/neurons/neurons.tsv"
    conda:
        "../../environment.yml"
    shell:
        "echo 'neuron models characterised:' {input} > {log}"
