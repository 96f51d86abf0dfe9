rule forward:
    input:
        rates=f"{RUN}/network/rates.h5",
        kernels=kernel_files(),
    output:
        f"{RUN}/signals.h5",
    params:
        config=stage_config(config, "forward"),
    log:
        f"{LOGS}/forward.log",
    benchmark:
        f"{BENCHMARKS}/forward.tsv"
    conda:
        "../../environment.yml"
    script:
        "../scripts/forward.py"
