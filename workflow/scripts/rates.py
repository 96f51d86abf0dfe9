"""Rule rates: population spike counts per bin of width dt, written to rates.h5."""

from lfpflow.logs import log_to
from lfpflow.signals.rates import population_rates, write_rates
from lfpflow.signals.spikes import read_spikes

log = log_to(snakemake.log[0], "rates")
spikes = read_spikes(snakemake.input[0])
t_ms, counts = population_rates(spikes.times_ms, tstop_ms=spikes.tstop_ms, dt_ms=spikes.dt_ms)
write_rates(
    snakemake.output[0],
    t_ms,
    counts,
    dt_ms=spikes.dt_ms,
    population_sizes=spikes.population_sizes,
    config=snakemake.params.config,
)
log.info("%d bins of %s ms for %s", t_ms.size, spikes.dt_ms, ", ".join(counts))
