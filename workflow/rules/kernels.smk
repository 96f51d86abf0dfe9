from pathlib import Path


rule compile_mechanisms:
    input:
        sorted(Path(workflow.basedir).joinpath("mod").glob("*.mod")),
    output:
        directory("build/mechanisms"),
    log:
        "logs/build/compile_mechanisms.log",
    benchmark:
        "benchmarks/build/compile_mechanisms.tsv"
    conda:
        "../../environment.yml"
    script:
        "../scripts/compile_mechanisms.py"


rule kernel:
    input:
        mechanisms="build/mechanisms",
        # a kernel onto post is computed with post's cell only
        morphology=lambda wildcards: (
            f"{MORPHOLOGY_DIR}/{KERNEL_CONFIGS[wildcards.khash]['populations'][wildcards.post]['cell']['morphology']}"
        ),
    output:
        "results/kernels/{khash}/{post}_{pre}.h5",
    params:
        kernel_config=lambda wildcards: kernel_stage_config(wildcards)["kernels"],
        dt_ms=lambda wildcards: KERNEL_CONFIGS[wildcards.khash]["simulation"]["dt_ms"],
        config=kernel_stage_config,
        morphology_dir=MORPHOLOGY_DIR,
    log:
        "logs/kernels/{khash}/kernel_{post}_{pre}.log",
    benchmark:
        "benchmarks/kernels/{khash}/kernel_{post}_{pre}.tsv"
    conda:
        "../../environment.yml"
    script:
        "../scripts/kernel.py"
