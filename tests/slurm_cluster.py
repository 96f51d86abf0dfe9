"""A throw-away single-node SLURM cluster on localhost, for tests.

Everything lives in one folder: a private munge key and socket, ``slurm.conf``
(one node named ``hostname -s`` at 127.0.0.1, ``select/cons_tres``,
``proctrack/linuxproc``, ``task/none``, no accounting), state, spool, logs, the
pid files of the three daemons (``munged``, ``slurmctld``, ``slurmd``), which run as
root on free ports, so a SLURM or munge already on the machine is left alone, and
``bin/``: SLURM's client commands, each a two-line script that sets ``SLURM_CONF``
to this ``slurm.conf``. Client commands find the cluster through
:attr:`LocalSlurm.env` (``SLURM_CONF`` and ``bin/`` first on ``PATH``), also
``srun`` inside a job: snakemake-executor-plugin-slurm-jobstep runs each job as
``srun ...`` with every ``SLURM_*`` variable but the job's identity removed, but
keeps ``PATH``. Nothing outside the folder is written (no ``/etc/slurm/slurm.conf``),
so no other process on the machine ever sees this cluster, and
:meth:`LocalSlurm.stop` stops exactly the daemons started here, by their pid files.

SLURM's commands are taken from ``$LFPFLOW_SLURM_PREFIX/bin``
(``/opt/lfpflow/slurm/bin``), where ``install.sh`` (as root) unpacks Debian's
``slurm-client slurmctld slurmd``, off the PATH: with ``sinfo`` on the PATH,
snakemake-executor-plugin-slurm asks SLURM's controller for its configuration
(``scontrol show config``, up to 10 s) on every snakemake call. Commands on the
PATH (SLURM installed some other way) work too. Needs root on Debian with munge;
:func:`unavailable_reason` says why the cluster cannot be brought up otherwise.
Usable by hand too::

    python3 tests/slurm_cluster.py /tmp/slurm   # starts it, prints how to use it, Ctrl-C stops
"""

from __future__ import annotations

import getpass
import importlib.util
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd", "slurmstepd")
#: the client commands the tests and both Snakemake plugins call (sacct: the
#: plugin's default status command when it exists), wrapped in ``bin/``
CLIENT_COMMANDS = ("sacct", "sbatch", "scancel", "scontrol", "sinfo", "squeue", "srun")
PLUGIN = "snakemake_executor_plugin_slurm"
#: where install.sh unpacks SLURM's commands (bin/: all of them), off the PATH
PREFIX = Path(os.environ.get("LFPFLOW_SLURM_PREFIX", "/opt/lfpflow/slurm"))
MARKER = "# written by tests/slurm_cluster.py"


def search_path() -> str:
    """Where SLURM's commands and munged are looked for: the unpacked SLURM, then PATH."""
    return os.pathsep.join([str(PREFIX / "bin"), os.environ.get("PATH", os.defpath)])


def command(name: str) -> str | None:
    """The full path of SLURM's or munge's command ``name`` (None if missing)."""
    return shutil.which(name, path=search_path())


def unavailable_reason() -> str | None:
    """Why a local cluster cannot be brought up here (None if it can)."""
    if not sys.platform.startswith("linux"):
        return f"needs Linux, this is {sys.platform}"
    if os.geteuid() != 0:
        return "needs root (the SLURM daemons run as root and run the jobs as root)"
    if not Path("/etc/debian_version").is_file():
        return "needs Debian (its slurmctld/slurmd/munge packages)"
    missing = [name for name in (*DAEMONS, *CLIENT_COMMANDS) if command(name) is None]
    if missing:
        return (
            f"commands {', '.join(missing)} missing (looked in {PREFIX / 'bin'} and on the "
            "PATH): run ./install.sh as root"
        )
    if importlib.util.find_spec(PLUGIN) is None:
        return "snakemake-executor-plugin-slurm is not installed: pip install -e '.[slurm]'"
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def node_hardware() -> dict[str, str]:
    """CPUs, sockets, cores, threads and RealMemory (MB) of this machine, as slurmd sees them."""
    line = subprocess.run(
        [command("slurmd"), "-C"], capture_output=True, text=True, timeout=30, check=True
    ).stdout.splitlines()[0]
    keys = ("CPUs", "Boards", "SocketsPerBoard", "CoresPerSocket", "ThreadsPerCore", "RealMemory")
    return {key: value for key, value in re.findall(r"(\w+)=(\S+)", line) if key in keys}


class LocalSlurm:
    """munged + slurmctld + slurmd with configuration and state under ``root``."""

    def __init__(self, root: Path, *, partition: str = "debug") -> None:
        self.root = Path(root).resolve()
        self.partition = partition
        self.node = socket.gethostname().split(".")[0]  # `hostname -s`
        self.conf = self.root / "slurm.conf"
        #: SLURM's client commands for this cluster (scripts that set SLURM_CONF)
        self.bin = self.root / "bin"
        self.munge_socket = self.root / "munge" / "munge.socket"
        self.pid_files = {
            "munged": self.root / "munge" / "munged.pid",
            "slurmctld": self.root / "slurmctld.pid",
            "slurmd": self.root / "slurmd.pid",
        }
        self.logs = {
            "munged": self.root / "munge" / "munged.log",
            "slurmctld": self.root / "slurmctld.log",
            "slurmd": self.root / "slurmd.log",
        }
        self.bring_up_seconds: float | None = None
        self.hardware = node_hardware()
        #: memory (MB) the node offers to jobs: sbatch refuses a larger --mem
        self.memory_mb = int(self.hardware["RealMemory"])

    @property
    def env(self) -> dict[str, str]:
        """The environment for client commands (sbatch, squeue, Snakemake's plugin)."""
        path = os.pathsep.join([str(self.bin), search_path()])
        return dict(os.environ, SLURM_CONF=str(self.conf), PATH=path)

    def _write_commands(self) -> None:
        """``bin/``: every client command as a script that runs it on this cluster."""
        self.bin.mkdir(parents=True, exist_ok=True)
        for name in CLIENT_COMMANDS:
            script = self.bin / name
            real, conf = shlex.quote(command(name)), shlex.quote(str(self.conf))
            script.write_text(f'#!/bin/sh\nSLURM_CONF={conf} exec {real} "$@"\n')
            script.chmod(0o755)

    def _write_configuration(self) -> None:
        munge_dir = self.munge_socket.parent
        for folder in (self.root, munge_dir, self.root / "state", self.root / "spool"):
            folder.mkdir(parents=True, exist_ok=True)
            folder.chmod(0o700)
        key = munge_dir / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o600)
        hardware = " ".join(f"{key}={value}" for key, value in self.hardware.items())
        self.conf.write_text(
            "\n".join(
                [
                    MARKER,
                    "ClusterName=lfpflowtest",
                    f"SlurmctldHost={self.node}(127.0.0.1)",
                    f"SlurmctldPort={_free_port()}",
                    f"SlurmdPort={_free_port()}",
                    "SlurmUser=root",
                    "SlurmdUser=root",
                    "AuthType=auth/munge",
                    "CredType=cred/munge",
                    f"AuthInfo=socket={self.munge_socket}",
                    "MpiDefault=none",
                    "ProctrackType=proctrack/linuxproc",
                    "TaskPlugin=task/none",
                    "SchedulerType=sched/backfill",
                    "SelectType=select/cons_tres",
                    "SelectTypeParameters=CR_Core_Memory",
                    "AccountingStorageType=accounting_storage/none",
                    "JobAcctGatherType=jobacct_gather/none",
                    "JobCompType=jobcomp/none",
                    "ReturnToService=2",
                    # finished jobs stay visible to squeue (the plugin's status command)
                    "MinJobAge=600",
                    f"StateSaveLocation={self.root / 'state'}",
                    f"SlurmdSpoolDir={self.root / 'spool'}",
                    f"SlurmctldPidFile={self.pid_files['slurmctld']}",
                    f"SlurmdPidFile={self.pid_files['slurmd']}",
                    f"SlurmctldLogFile={self.logs['slurmctld']}",
                    f"SlurmdLogFile={self.logs['slurmd']}",
                    "SlurmctldDebug=info",
                    "SlurmdDebug=info",
                    f"NodeName={self.node} NodeAddr=127.0.0.1 {hardware} State=UNKNOWN",
                    f"PartitionName={self.partition} Nodes={self.node} Default=YES "
                    "MaxTime=INFINITE State=UP",
                    "",
                ]
            )
        )

    def _run(self, *command: str, timeout: float = 30) -> subprocess.CompletedProcess:
        return subprocess.run(
            command, env=self.env, capture_output=True, text=True, timeout=timeout
        )

    def start(self, timeout: float = 60) -> None:
        """Write the configuration, start the daemons, wait until the node is idle."""
        started = time.perf_counter()
        self._write_configuration()
        self._write_commands()
        munge_dir = self.munge_socket.parent
        steps = [
            (
                "munged",
                [
                    command("munged"),
                    "--force",
                    f"--socket={self.munge_socket}",
                    f"--key-file={munge_dir / 'munge.key'}",
                    f"--pid-file={self.pid_files['munged']}",
                    f"--log-file={self.logs['munged']}",
                    f"--seed-file={munge_dir / 'munged.seed'}",
                ],
            ),
            ("slurmctld", [command("slurmctld"), "-f", str(self.conf)]),
            # -d: slurmd's compiled-in slurmstepd is /usr/sbin's, absent when unpacked
            (
                "slurmd",
                [command("slurmd"), "-f", str(self.conf), "-d", command("slurmstepd")],
            ),
        ]
        for name, argv in steps:
            result = self._run(*argv)
            if result.returncode != 0:
                raise RuntimeError(f"{name} did not start: {result.stderr}{self.log_tail(name)}")
            self._wait_for(lambda name=name: self._pid(name) is not None, f"{name} pid file", 20)
        self._wait_for(self._node_idle, "the node to become idle", timeout)
        self.bring_up_seconds = time.perf_counter() - started

    def _node_idle(self) -> bool:
        result = self._run("sinfo", "--noheader", "--nodes", self.node, "--format=%T", timeout=10)
        return result.returncode == 0 and result.stdout.strip().rstrip("*") == "idle"

    def _wait_for(self, condition, what: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                logs = "".join(self.log_tail(name) for name in self.logs)
                raise TimeoutError(f"waited {timeout} s for {what}{logs}")
            time.sleep(0.2)

    def _pid(self, name: str) -> int | None:
        try:
            return int(self.pid_files[name].read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def log_tail(self, name: str, lines: int = 30) -> str:
        try:
            text = self.logs[name].read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            return ""
        return f"\n--- {self.logs[name]} ---\n" + "\n".join(text)

    def cancel_jobs(self, timeout: float = 15) -> None:
        """Cancel the jobs still queued or running on this cluster, and wait for them."""
        try:
            self._run("scancel", f"--user={getpass.getuser()}", timeout=10)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                active = self._run("squeue", "--noheader", "--format=%i", timeout=10)
                if active.returncode != 0 or not active.stdout.strip():
                    break
                time.sleep(0.2)
        except (OSError, subprocess.SubprocessError):
            pass

    def stop(self, timeout: float = 20) -> None:
        """Cancel leftover jobs, stop the daemons started here by their pid files."""
        if self._pid("slurmctld") is not None and _alive(self._pid("slurmctld")):
            self.cancel_jobs()
        for name in ("slurmd", "slurmctld", "munged"):
            pid = self._pid(name)
            if pid is None:
                continue
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            deadline = time.monotonic() + timeout
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)

    def __enter__(self) -> LocalSlurm:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()


def _alive(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie child counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


if __name__ == "__main__":
    reason = unavailable_reason()
    if reason:
        sys.exit(f"cannot start a local SLURM: {reason}")
    with LocalSlurm(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/lfpflow-slurm")) as cluster:
        print(
            f"up in {cluster.bring_up_seconds:.1f} s; "
            f"export SLURM_CONF={cluster.conf} PATH={cluster.bin}:$PATH"
        )
        try:
            signal.pause()
        except KeyboardInterrupt:
            pass
