"""Rule inference_train: train neural posterior estimation on the training batches."""

from lfpflow.inference.workflow import train_estimator
from lfpflow.logs import log_to

log = log_to(snakemake.log[0], "inference_train")
# the same number of threads gives the same weights (training is seeded)
info = train_estimator(
    list(snakemake.input), snakemake.output[0], snakemake.params.config, threads=snakemake.threads
)
log.info(
    "%d of %d draws, %d features, ensemble of %d: epochs %s, validation losses %s, %.1f s",
    info["n_used"],
    info["n_draws"],
    info["n_features"],
    info["ensemble"],
    info["epochs"],
    [round(loss, 3) for loss in info["best_validation_loss"]],
    info["wall_s"],
)
