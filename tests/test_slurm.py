"""profiles/slurm end to end on a real single-node SLURM (tests/slurm_cluster.py).

As root on Debian with SLURM unpacked by ./install.sh (CI: it runs as root), the
module brings up munged + slurmctld + slurmd on localhost, runs config/tiny.yaml
through ``--workflow-profile profiles/slurm`` in one copy of the project and with
``--cores 2`` in another, and checks that every job went through sbatch and that
every HDF5 file under results/ is byte for byte the same. Elsewhere it is skipped
with the reason. The daemons are stopped by their pid files when the module ends,
whatever happened (also on SIGTERM).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import slurm_cluster
from test_workflow import ENV, REPO, SNAKEMAKE, make_project, scheduled_jobs

pytestmark = pytest.mark.slow

#: Seconds the Snakemake run through SLURM may take before `timeout` stops it
#: (measured here: about 90 s; the plugin backs off by 10 s per status check).
SLURM_RUN_LIMIT_S = 900
#: Test-only settings on top of profiles/slurm: the test cluster has no accounting
#: (sacct cannot answer, so squeue, which keeps finished jobs for MinJobAge = 600 s),
#: the first status check after 1 s instead of 40 s, and the SLURM logs of
#: successful jobs kept as evidence.
TEST_OVERRIDES = (
    "--slurm-status-command",
    "squeue",
    "--slurm-init-seconds-before-status-checks",
    "1",
    "--slurm-keep-successful-logs",
)
TINY = ("--configfile", "config/tiny.yaml")
#: the largest --mem the tests ask for (the retry test's second attempt; the
#: network job asks for 3200 MB): sbatch refuses jobs larger than the node
NEEDED_MEMORY_MB = 4000


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A running single-node SLURM; its daemons are stopped at the end of the module."""
    reason = slurm_cluster.unavailable_reason()
    if reason:
        pytest.skip(f"no local SLURM cluster: {reason}")
    local = slurm_cluster.LocalSlurm(tmp_path_factory.mktemp("slurm"))
    if local.memory_mb < NEEDED_MEMORY_MB:
        pytest.skip(f"the node has {local.memory_mb} MB, the tests ask for {NEEDED_MEMORY_MB}")
    # pytest runs no teardown on SIGTERM (CI time limits): turn it into an exception
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        local.start()
        print(f"\nlocal SLURM up in {local.bring_up_seconds:.2f} s")
        yield local
    finally:
        local.stop()
        signal.signal(signal.SIGTERM, previous)


def _run(
    command, cwd: Path, env: dict, timeout: float
) -> tuple[subprocess.CompletedProcess, float]:
    """Run ``command`` in its own process group, killed as a whole on timeout or interrupt."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except BaseException:
        os.killpg(process.pid, signal.SIGKILL)  # Snakemake and everything it started
        process.communicate()
        raise
    elapsed = time.perf_counter() - started
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr), elapsed


@pytest.fixture(scope="module")
def runs(cluster, tmp_path_factory):
    """config/tiny.yaml run locally and through profiles/slurm, in two copies of the project."""
    root = tmp_path_factory.mktemp("slurm_runs")
    local = make_project(root / "local")
    remote = make_project(root / "slurm")
    local_result, local_s = _run([*SNAKEMAKE, "--cores", "2", *TINY], local, ENV, timeout=600)
    assert local_result.returncode == 0, local_result.stderr[-5000:]
    env = dict(cluster.env, SOURCE_DATE_EPOCH=ENV["SOURCE_DATE_EPOCH"])
    command = [
        "timeout", "-k", "10", str(SLURM_RUN_LIMIT_S),
        *SNAKEMAKE, "--workflow-profile", "profiles/slurm", *TINY, *TEST_OVERRIDES,
    ]  # fmt: skip
    remote_result, remote_s = _run(command, remote, env, timeout=SLURM_RUN_LIMIT_S + 60)
    log = remote_result.stdout + remote_result.stderr
    assert remote_result.returncode == 0, (
        f"exit {remote_result.returncode} (124: timed out)\n{log[-8000:]}"
        f"{cluster.log_tail('slurmctld')}{cluster.log_tail('slurmd')}"
    )
    print(f"\nlocal run {local_s:.1f} s; SLURM run {remote_s:.1f} s: {' '.join(command)}")
    return {
        "local": local,
        "slurm": remote,
        "local_log": local_result.stdout + local_result.stderr,
        "slurm_log": log,
        "slurm_s": remote_s,
    }


#: squeue fields: job id, state, comment (the plugin's rule_<name>...), memory,
#: CPUs and time limit as slurmctld granted them
SQUEUE_FIELDS = {
    "id": "%i",
    "state": "%T",
    "comment": "%k",
    "mem": "%m",
    "cpus": "%c",
    "time": "%l",
}


def _controller_jobs(cluster) -> dict[str, dict[str, str]]:
    """SLURM job id -> squeue fields, for every job slurmctld still knows."""
    result = subprocess.run(
        ["squeue", "--states=all", "--noheader", f"--format={'|'.join(SQUEUE_FIELDS.values())}"],
        env=cluster.env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    jobs = {}
    for line in result.stdout.splitlines():
        job = dict(zip(SQUEUE_FIELDS, line.strip().split("|"), strict=True))
        jobs[job["id"]] = job
    return jobs


def _rule(comment: str, rules) -> str | None:
    """The rule of a job from the plugin's sbatch --comment rule_<name>[_wildcards_...]."""
    return next(
        (
            name
            for name in rules
            if comment == f"rule_{name}" or comment.startswith(f"rule_{name}_wildcards_")
        ),
        None,
    )


def test_every_job_went_through_sbatch(cluster, runs):
    expected = scheduled_jobs(runs["local_log"])
    expected.pop("all", None)  # a target without a command: no job anywhere
    assert expected.get("network") == 1 and expected.get("kernel") == 4, expected

    # Snakemake's log: "Job 3 has been submitted with SLURM jobid 7 (log: ...)"
    submitted = re.findall(r"submitted with SLURM jobid (\d+)", runs["slurm_log"])
    assert len(submitted) == len(set(submitted)) == sum(expected.values()), (
        submitted,
        expected,
    )
    # slurmctld: the same jobs, all completed, one per job of the local run
    controller = _controller_jobs(cluster)
    assert set(submitted) <= set(controller), (submitted, controller)
    mine = [controller[job_id] for job_id in submitted]
    assert {job["state"] for job in mine} == {"COMPLETED"}, mine
    per_rule: dict[str, int] = {}
    for job in mine:
        rule = _rule(job["comment"], expected)
        per_rule[rule] = per_rule.get(rule, 0) + 1
    assert per_rule == expected
    # the plugin's per-job SLURM logs, named after the SLURM job ids
    logs = list((runs["slurm"] / ".snakemake" / "slurm_logs").rglob("*.log"))
    assert sorted(path.stem for path in logs) == sorted(submitted)
    print(f"\n{len(submitted)} SLURM jobs in {runs['slurm_s']:.1f} s: {per_rule}")


def test_slurm_outputs_are_identical_to_a_local_run(runs):
    local_results = runs["local"] / "results"
    slurm_results = runs["slurm"] / "results"
    local_files = sorted(
        p.relative_to(local_results) for p in local_results.rglob("*") if p.is_file()
    )
    slurm_files = sorted(
        p.relative_to(slurm_results) for p in slurm_results.rglob("*") if p.is_file()
    )
    assert local_files == slurm_files
    h5_files = [name for name in local_files if name.suffix == ".h5"]
    assert len(h5_files) >= 7, h5_files  # spikes, rates, 4 kernels, signals
    for name in h5_files:
        assert (local_results / name).read_bytes() == (slurm_results / name).read_bytes(), name


def test_jobs_got_the_profile_resources(cluster, runs):
    """slurmctld granted threads, memory and time of profiles/slurm (first attempt)."""
    submitted = re.findall(r"submitted with SLURM jobid (\d+)", runs["slurm_log"])
    controller = _controller_jobs(cluster)
    granted = {}
    for job_id in submitted:
        job = controller[job_id]
        rule = _rule(job["comment"], ("network", "kernel"))
        if rule is not None:
            granted.setdefault(rule, set()).add((job["cpus"], job["mem"], job["time"]))
    # network: simulation.n_vp = 2 threads, 3200 MB, 30 min
    assert granted == {
        "network": {("2", "3200M", "30:00")},  # simulation.n_vp = 2 threads
        "kernel": {("1", "500M", "10:00")},
    }


RETRY_SNAKEFILE = """
rule all:
    input: "done.txt"

# no entry in profiles/slurm: default-resources, mem_mb = 2000 * attempt
rule a_rule_the_profile_does_not_know:
    output: "done.txt"
    shell:
        "echo {resources.mem_mb} {resources.runtime} > {output}.try"
        " && test {resources.mem_mb} -ge 4000 && mv {output}.try {output}"
"""


def test_a_failed_job_is_resubmitted_with_more_memory_and_time(cluster, tmp_path):
    """profiles/slurm's retries: attempt 2 asks sbatch for twice the memory and time."""
    (tmp_path / "Snakefile").write_text(RETRY_SNAKEFILE)
    command = [
        "timeout", "-k", "10", "300",
        *SNAKEMAKE, "--workflow-profile", str(REPO / "profiles" / "slurm"), *TEST_OVERRIDES,
    ]  # fmt: skip
    result, _ = _run(command, tmp_path, cluster.env, timeout=360)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-5000:]
    submitted = re.findall(r"submitted with SLURM jobid (\d+)", log)
    controller = _controller_jobs(cluster)
    granted = [
        (controller[i]["state"], controller[i]["mem"], controller[i]["time"]) for i in submitted
    ]
    assert granted == [("FAILED", "2000M", "1:00:00"), ("COMPLETED", "4000M", "2:00:00")]
    assert (tmp_path / "done.txt").read_text().split() == ["4000", "120"]


def test_profile_resources_without_a_cluster(tmp_path):
    """Dry run: per-rule and default resources, partition and account from the environment."""
    if importlib.util.find_spec(slurm_cluster.PLUGIN) is None:
        pytest.skip("snakemake-executor-plugin-slurm is not installed: pip install -e '.[slurm]'")
    project = make_project(tmp_path / "project")
    env = dict(ENV, LFPFLOW_SLURM_ACCOUNT="proj_123", LFPFLOW_SLURM_PARTITION="compute")
    command = [*SNAKEMAKE, "-n", "--workflow-profile", "profiles/slurm", *TINY]
    result, _ = _run(command, project, env, timeout=300)
    assert result.returncode == 0, result.stderr[-5000:]
    resources = {}
    rule = None
    for line in (result.stdout + result.stderr).splitlines():
        if line.startswith(("rule ", "localrule ")):
            rule = line.split()[1].rstrip(":")
        elif line.strip().startswith("resources:") and rule:
            items = (item.split("=", 1) for item in line.split(":", 1)[1].split(", "))
            resources[rule] = {key.strip(): value for key, value in items}
    assert {"network", "kernel", "forward"} <= set(resources), resources
    for values in resources.values():
        assert values["slurm_account"] == "proj_123" and values["slurm_partition"] == "compute"
    assert resources["network"]["mem_mb"] == "3200" and resources["network"]["runtime"] == "30"
    assert resources["kernel"]["mem_mb"] == "500" and resources["kernel"]["runtime"] == "10"


#: Imports the plugin with every command it starts recorded (printed, one a line).
RECORD_PLUGIN_COMMANDS = """
import subprocess, sys
started = []
original = subprocess.Popen.__init__
def recording(self, args, *rest, **kwargs):
    started.append(args if isinstance(args, str) else " ".join(map(str, args)))
    original(self, args, *rest, **kwargs)
subprocess.Popen.__init__ = recording
import {plugin}
print("\\n".join(started))
"""


def test_snakemake_does_not_ask_a_controller_it_does_not_use(tmp_path):
    """Snakemake imports the plugin on every call; with no SLURM command on the
    PATH it starts none (with ``sinfo`` there it runs ``scontrol show config``,
    which waits up to 10 s for an unreachable controller: docs/cluster.md)."""
    if not (slurm_cluster.PREFIX / "bin" / "sinfo").exists():
        pytest.skip(f"no SLURM unpacked under {slurm_cluster.PREFIX} (./install.sh as root)")
    if importlib.util.find_spec(slurm_cluster.PLUGIN) is None:
        pytest.skip("snakemake-executor-plugin-slurm is not installed: pip install -e '.[slurm]'")
    assert shutil.which("sinfo") is None, (
        f"{shutil.which('sinfo')}: SLURM's commands are on the PATH, so every snakemake "
        "call asks SLURM's controller for its configuration (docs/cluster.md)"
    )
    code = RECORD_PLUGIN_COMMANDS.format(plugin=slurm_cluster.PLUGIN)
    result, _ = _run([sys.executable, "-c", code], tmp_path, dict(os.environ), timeout=60)
    assert result.returncode == 0, result.stderr
    assert "scontrol" not in result.stdout, result.stdout
    # the recording sees the probe where SLURM's commands are on the PATH
    on_path = dict(os.environ, PATH=f"{slurm_cluster.PREFIX / 'bin'}:{os.environ['PATH']}")
    result, _ = _run([sys.executable, "-c", code], tmp_path, on_path, timeout=60)
    assert "scontrol show config" in result.stdout, result.stdout


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-v", "-rs", "-s"]))
