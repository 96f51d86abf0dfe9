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
        morphologies=lambda wildcards: [
            f"morphologies/{config['kernels']['populations'][name]['morphology']}"
            for name in (wildcards.post, wildcards.pre)
        ],
    output:
        f"{RUN}/kernels/{{post}}_{{pre}}.h5",
    params:
        kernel_config=stage_config(config, "kernels")["kernels"],
        dt_ms=config["simulation"]["dt_ms"],
        config=stage_config(config, "kernels"),
        morphology_dir="morphologies",
    log:
        f"{LOGS}/kernel_{{post}}_{{pre}}.log",
    benchmark:
        f"{BENCHMARKS}/kernel_{{post}}_{{pre}}.tsv"
    conda:
        "../../environment.yml"
    script:
        "../scripts/kernel.py"
