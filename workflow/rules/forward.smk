rule forward:
    input:
        rates="results/{run}/network/rates.h5",
        kernels=lambda wildcards: kernel_files(wildcards.run),
        head_model=head_model_files,
    output:
        "results/{run}/signals.h5",
    params:
        config=run_stage_config("forward"),
        kernels_dir=lambda wildcards: kernels_dir(wildcards.run),
    log:
        "logs/{run}/forward.log",
    benchmark:
        "benchmarks/{run}/forward.tsv"
    conda:
        "../../environment.yml"
    script:
        "../scripts/forward.py"
