"""Rule groundtruth_predict: kernel prediction from the MC network's own spikes.

Writes groundtruth/predicted.h5 (lfpflow.signals.groundtruth.predict_groundtruth).
"""

from lfpflow.formats.heads import sensor_maps
from lfpflow.logs import log_to
from lfpflow.signals.groundtruth import predict_groundtruth

log = log_to(snakemake.log[0], "groundtruth_predict")
config = snakemake.params.config  # validated by lfpflow.resolve
prediction = predict_groundtruth(
    config,
    spikes_path=snakemake.input.spikes,
    truth_path=snakemake.input.truth,
    kernel_paths=snakemake.input.kernels,
    output_path=snakemake.output[0],
    # the head model with what MNE reads (a named montage, a forward solution)
    sensors=sensor_maps(config["forward"]["head_model"], config["forward"]["meg"]),
)
log.info(
    "prediction of %d pathways over %d bins; measured rates (Hz): %s",
    prediction["n_pathways"],
    prediction["n_bins"],
    {k: round(v, 3) for k, v in prediction["measured_rates_Hz"].items()},
)
