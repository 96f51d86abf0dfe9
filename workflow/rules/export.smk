# NWB export: a run's spikes and signals as one NWB 2 file (lfpflow.formats.nwb),
# results/<run>/<run>.nwb; for a sweep point results/<name>/<label>-<hash>/<label>-<hash>.nwb
# (lfpflow.formats.nwb_path). Not part of `all`: `snakemake --cores 2 nwb`.

from lfpflow.formats import nwb_path


rule nwb_file:
    input:
        spikes="results/{run}/network/spikes.h5",
        signals="results/{run}/signals.h5",
    output:
        "results/{run}/{stem}.nwb",
    params:
        config=run_stage_config("export"),
    log:
        "logs/{run}/nwb_{stem}.log",
    benchmark:
        "benchmarks/{run}/nwb_{stem}.tsv"
    wildcard_constraints:
        # the file is named after the run's folder (its last part for a sweep point)
        stem="|".join(re.escape(run.rsplit("/", 1)[-1]) for run in RUNS),
    conda:
        "../../environment.yml"
    script:
        "../scripts/nwb.py"


rule nwb:
    input:
        [nwb_path(run) for run in RUNS],
