# EEG as MNE files (lfpflow.formats.mne_eeg, docs/eeg.md): for each run
#   results/<run>/eeg/<stem>_raw.fif   MNE Raw: EEG in V with its montage, MEG in T
#                                      (forward.meg.enabled), transient annotated
#   results/<run>/eeg/<stem>.edf, .vhdr (+ .vmrk, .eeg)   forward.eeg_export.formats
#   results/<run>/figures/eeg_topomap.png   MNE topomaps of the EEG (and MEG)
# with <stem> the last part of the run's folder (the run name; <label>-<hash> for a
# sweep point). Not part of `all`: `snakemake --cores 2 eeg`. The names come from
# lfpflow.formats.eeg_files (which imports no MNE).

from lfpflow.formats.eeg_files import EXPORT_SUFFIXES, RAW_FIF_SUFFIX, eeg_file_pattern


rule eeg_fif:
    input:
        unpack(eeg_signals),
    output:
        eeg_file_pattern(RAW_FIF_SUFFIX),
    params:
        transient_ms=lambda wildcards: RUNS[wildcards.run]["simulation"]["transient_ms"],
    log:
        "logs/{run}/eeg_fif_{stem}.log",
    benchmark:
        "benchmarks/{run}/eeg_fif_{stem}.tsv"
    wildcard_constraints:
        stem="[^/]+",
    conda:
        "../../environment.yml"
    script:
        "../scripts/eeg_fif.py"


rule eeg_edf:
    input:
        eeg_file_pattern(RAW_FIF_SUFFIX),
    output:
        eeg_file_pattern(EXPORT_SUFFIXES["edf"][0]),
    log:
        "logs/{run}/eeg_edf_{stem}.log",
    benchmark:
        "benchmarks/{run}/eeg_edf_{stem}.tsv"
    wildcard_constraints:
        stem="[^/]+",
    conda:
        "../../environment.yml"
    script:
        "../scripts/eeg_export.py"


rule eeg_brainvision:
    input:
        eeg_file_pattern(RAW_FIF_SUFFIX),
    output:
        multiext(eeg_file_pattern(""), *EXPORT_SUFFIXES["brainvision"]),
    log:
        "logs/{run}/eeg_brainvision_{stem}.log",
    benchmark:
        "benchmarks/{run}/eeg_brainvision_{stem}.tsv"
    wildcard_constraints:
        stem="[^/]+",
    conda:
        "../../environment.yml"
    script:
        "../scripts/eeg_export.py"


rule eeg_topomap:
    input:
        signals="results/{run}/signals.h5",
    output:
        "results/{run}/figures/eeg_topomap.png",
    params:
        config=run_stage_config("analysis"),
    log:
        "logs/{run}/eeg_topomap.log",
    benchmark:
        "benchmarks/{run}/eeg_topomap.tsv"
    conda:
        "../../environment.yml"
    script:
        "../scripts/eeg_topomap.py"


rule eeg:
    input:
        [target for run in RUNS for target in eeg_targets(run)],
