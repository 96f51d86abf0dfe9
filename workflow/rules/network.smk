rule network:
    input:
        nestml=run_needs_nestml,
    output:
        "results/{run}/network/spikes.h5",
    params:
        config=run_stage_config("network"),
    threads: lambda wildcards: RUNS[wildcards.run]["simulation"]["n_vp"]
    log:
        "logs/{run}/network.log",
    benchmark:
        "benchmarks/{run}/network.tsv"
    conda:
        "../../environment.yml"
    script:
        "../scripts/network.py"


rule rates:
    input:
        "results/{run}/network/spikes.h5",
    output:
        "results/{run}/network/rates.h5",
    params:
        config=run_stage_config("network"),
    log:
        "logs/{run}/rates.log",
    benchmark:
        "benchmarks/{run}/rates.tsv"
    conda:
        "../../environment.yml"
    script:
        "../scripts/rates.py"
