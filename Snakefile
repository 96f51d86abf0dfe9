# lfpflow: spiking network -> kernels -> LFP / CSD / CDM / EEG.
# Rules live in workflow/rules/, one file per stage; see README.md.

include: "workflow/rules/common.smk"
include: "workflow/rules/network.smk"
include: "workflow/rules/kernels.smk"
include: "workflow/rules/forward.smk"
include: "workflow/rules/analysis.smk"
include: "workflow/rules/export.smk"
include: "workflow/rules/eeg.smk"
include: "workflow/rules/neurons.smk"
include: "workflow/rules/v1.smk"
include: "workflow/rules/groundtruth.smk"
include: "workflow/rules/inference_common.smk"
include: "workflow/rules/inference.smk"


rule all:
    default_target: True
    input:
        rules.analysis_all.input,
