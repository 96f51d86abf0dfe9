rule network:
    input:
        nestml=["build/nestml"] if NETWORK_NEEDS_NESTML else [],
    output:
        f"{RUN}/network/spikes.h5",
    params:
        config=stage_config(config, "network"),
    threads: config["simulation"]["n_vp"]
    log:
        f"{LOGS}/network.log",
    benchmark:
        f"{BENCHMARKS}/network.tsv"
    conda:
        "../../environment.yml"
    script:
        "../scripts/network.py"


rule rates:
    input:
        f"{RUN}/network/spikes.h5",
    output:
        f"{RUN}/network/rates.h5",
    params:
        config=stage_config(config, "network"),
    log:
        f"{LOGS}/rates.log",
    benchmark:
        f"{BENCHMARKS}/rates.tsv"
    conda:
        "../../environment.yml"
    script:
        "../scripts/rates.py"
