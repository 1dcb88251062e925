"""The demo simulator's port: whether 8765 is free, held by this checkout's simulator, or by something else.

`nordledger demo` and `nordledger dev` use a simulator already on the port only when it is this
checkout's (its process runs from this directory); anything else holding the port is refused, so the
demo never reads another checkout's or another program's answers. `run_dev` serves the Dagster UI.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx

from connectors.settings import PROJECT_ROOT
from orchestration.dagster_env import with_dagster_env

SIMULATOR_PORT = 8765


class PortTakenError(RuntimeError):
    """The simulator's port is held by something that is not this checkout's simulator."""


@dataclass(frozen=True)
class Holder:
    pid: int | None
    command: str
    cwd: Path | None

    @property
    def ours(self) -> bool:
        """This checkout's process: run from its directory, or by a program inside it (its .venv)."""
        inside = self.cwd is not None and self.cwd.resolve() == PROJECT_ROOT.resolve()
        return inside or str(PROJECT_ROOT) in self.command


def _listening_inodes(port: int) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])  # state 0A: LISTEN
    return inodes


def port_holder(port: int = SIMULATOR_PORT) -> Holder | None:
    """Who listens on the port (None: nobody). The pid is None when the process cannot be seen (another
    user's, or a system without /proc)."""
    inodes = _listening_inodes(port)
    if not inodes:
        return None if not _answers(port) else Holder(None, "unknown", None)
    wanted = {f"socket:[{inode}]" for inode in inodes}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            links = {os.readlink(fd) for fd in (proc / "fd").iterdir()}
        except OSError:
            continue
        if links & wanted:
            try:
                command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
                cwd: Path | None = Path(os.readlink(proc / "cwd"))
            except OSError:
                command, cwd = "unknown", None
            return Holder(int(proc.name), command, cwd)
    return Holder(None, "unknown (another user's process?)", None)


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/_sim/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def our_simulator_running(port: int = SIMULATOR_PORT) -> bool:
    """True when this checkout's simulator answers on the port, False when the port is free; raises
    PortTakenError when anything else holds it."""
    holder = port_holder(port)
    if holder is None:
        return False
    if holder.ours and _answers(port):
        return True
    who = f"pid {holder.pid}: {holder.command}" if holder.pid else holder.command
    raise PortTakenError(
        f"port {port} on 127.0.0.1 is held by something that is not this checkout's simulator ({who}"
        + (f", running in {holder.cwd}" if holder.cwd else "")
        + f"). The demo companies in companies.yaml point at 127.0.0.1:{port}; stop that process and run again."
    )


def run_dev(port: int = 3000) -> int:
    """This checkout's simulator (started here unless it runs already), then `dagster dev` until stopped.

    Ctrl-C or SIGTERM stops `dagster dev` the way it expects (it then stops its webserver, daemon and
    code servers) and then the simulator started here; nothing is left running.
    """
    try:
        running = our_simulator_running()
    except PortTakenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    simulator = None
    if running:
        print(f"Simulator already running on 127.0.0.1:{SIMULATOR_PORT} (this checkout's)")
    else:
        simulator = subprocess.Popen(
            [sys.executable, "-m", "simulator", "serve", "--port", str(SIMULATOR_PORT)], cwd=PROJECT_ROOT
        )
    dagster = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("dagster")),
            "dev",
            "-w",
            "workspace.yaml",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        cwd=PROJECT_ROOT,
        env=with_dagster_env(dict(os.environ)),  # its webserver and daemon create the runs
    )
    previous = signal.signal(signal.SIGTERM, lambda *_: dagster.send_signal(signal.SIGTERM))
    try:
        while True:
            try:
                return dagster.wait()
            except KeyboardInterrupt:  # the terminal sent SIGINT to dagster too; let it finish shutting down
                continue
    finally:
        signal.signal(signal.SIGTERM, previous)
        if dagster.poll() is None:
            dagster.terminate()
            dagster.wait(timeout=30)
        if simulator is not None:
            simulator.terminate()
            simulator.wait(timeout=10)
