# Simulation-based inference (target `infer`; docs/inference.md): network
# parameters from an LFP, CSD, CDM or EEG. Outputs in results/<run_name>/inference/.
#
# The simulated network is the run's configuration with inference.network_overlay
# merged over it (lfpflow.inference.checks.simulated_config); its kernels are the
# usual cached ones, results/kernels/<hash>/, computed once and shared by every
# draw. Draws run in batches (one NEST process per batch job) of
# inference.simulations.batch_size; a killed run redoes only unfinished batches.


wildcard_constraints:
    split="train|test",
    batch="[0-9]{4}",


rule inference_observation:
    input:
        unpack(inference_observation_input),
        nestml=inference_nestml,
    output:
        f"{INFER}/observation.h5",
    params:
        config=inference_config("observation"),
    threads: inference_threads
    log:
        f"{LOGS}/inference/observation.log",
    benchmark:
        f"{BENCHMARKS}/inference/observation.tsv"
    conda:
        "../../environment.yml"
    script:
        "../scripts/inference_observation.py"


rule inference_batch:
    input:
        kernels=inference_kernel_files,
        nestml=inference_nestml,
    output:
        f"{INFER}/batches/{{split}}_{{batch}}.h5",
    params:
        config=inference_config("simulate"),
        indices=inference_batch_indices,
    threads: inference_threads
    log:
        f"{LOGS}/inference/batch_{{split}}_{{batch}}.log",
    benchmark:
        f"{BENCHMARKS}/inference/batch_{{split}}_{{batch}}.tsv"
    conda:
        "../../environment.yml"
    script:
        "../scripts/inference_batch.py"


rule inference_train:
    input:
        inference_batch_files("train"),
    output:
        f"{INFER}/estimator.h5",
    params:
        config=inference_config("train"),
    # one torch thread whatever --cores: the weights depend on the thread count
    threads: 1
    log:
        f"{LOGS}/inference/train.log",
    benchmark:
        f"{BENCHMARKS}/inference/train.tsv"
    conda:
        "../../environment.yml"
    script:
        "../scripts/inference_train.py"


rule inference_posterior:
    input:
        estimator=f"{INFER}/estimator.h5",
        observation=f"{INFER}/observation.h5",
    output:
        samples=f"{INFER}/posterior.h5",
        figure=f"{INFER}/figures/posterior_pairs.png",
    params:
        config=inference_config("posterior"),
    log:
        f"{LOGS}/inference/posterior.log",
    benchmark:
        f"{BENCHMARKS}/inference/posterior.tsv"
    conda:
        "../../environment.yml"
    script:
        "../scripts/inference_posterior.py"


rule inference_ppc:
    input:
        posterior=f"{INFER}/posterior.h5",
        observation=f"{INFER}/observation.h5",
        kernels=inference_kernel_files,
        nestml=inference_nestml,
    output:
        table=f"{INFER}/ppc.h5",
        figure=f"{INFER}/figures/ppc_spectrum.png",
    params:
        config=inference_config("posterior"),
    threads: inference_threads
    log:
        f"{LOGS}/inference/ppc.log",
    benchmark:
        f"{BENCHMARKS}/inference/ppc.tsv"
    conda:
        "../../environment.yml"
    script:
        "../scripts/inference_ppc.py"


rule inference_validation:
    input:
        estimator=f"{INFER}/estimator.h5",
        batches=inference_batch_files("test"),
    output:
        summary=f"{INFER}/validation.json",
        table=f"{INFER}/validation.h5",
        figure=f"{INFER}/figures/validation.png",
    params:
        config=inference_config("validation"),
    # one torch thread whatever --cores: the weights depend on the thread count
    threads: 1
    log:
        f"{LOGS}/inference/validation.log",
    benchmark:
        f"{BENCHMARKS}/inference/validation.tsv"
    conda:
        "../../environment.yml"
    script:
        "../scripts/inference_validation.py"


rule infer:
    input:
        f"{INFER}/posterior.h5",
        f"{INFER}/figures/posterior_pairs.png",
        f"{INFER}/ppc.h5",
        f"{INFER}/figures/ppc_spectrum.png",
        f"{INFER}/validation.json",
        f"{INFER}/figures/validation.png",
