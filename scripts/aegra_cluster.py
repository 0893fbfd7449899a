"""Aegra instances serving zyx's graphs on 127.0.0.1, for tests and benchmarks (docs/deploy.md).

`AegraCluster` does what docs/deploy.md tells an operator to do, on loopback: a database of its own
in the given PostgreSQL (created, migrated once with `aegra db upgrade`, dropped at the end), Redis
keys under a prefix of its own, and N `aegra serve --config langgraph.json` processes with the
settings of `deploy/aegra.env` plus the caller's (the model, its URL and key). Each instance runs in
its own process group, so `kill()` SIGKILLs the server and its uvicorn child together and `stop()`
leaves nothing behind. Needs the venv made by `scripts/aegra-env` and psycopg (the `postgres` extra).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "langgraph.json"
SETTINGS = ROOT / "deploy" / "aegra.env"
DEFAULT_VENV = ROOT / ".venv-aegra"
START_TIMEOUT = 90.0
"""Seconds an instance may take to answer /health (two cold starts on 2 busy cores take ~10-20 s)."""


class ClusterError(RuntimeError):
    """An instance or the database could not be set up; the message carries the end of the log."""


def read_env_file(path: Path = SETTINGS) -> dict[str, str]:
    """`KEY=VALUE` lines of an env file (comments and blank lines skipped), as `set -a; . file` reads them."""
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, sep, value = line.partition("=")
            if not sep:
                raise ClusterError(f"{path}: not KEY=VALUE: {line!r}")
            values[key.strip()] = value.strip().strip("'\"")
    return values


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def aegra_venv() -> Path:
    """The Aegra venv: $ZYX_AEGRA_VENV, else `.venv-aegra` in the repository root."""
    return Path(os.environ.get("ZYX_AEGRA_VENV") or DEFAULT_VENV)


def with_database(url: str, name: str) -> str:
    """`url` pointing at database `name`."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@dataclass
class Instance:
    """One `aegra serve` process (the CLI, with uvicorn as its child, in their own process group)."""

    index: int
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.process.poll() is None

    def server_pid(self) -> int:
        """The uvicorn process's pid (the child of `aegra serve`): what Aegra's workers put in `claimed_by`."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        pids = children.read_text().split() if children.exists() else []
        return int(pids[0]) if pids else self.process.pid

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-chars:] if self.log.exists() else ""


@dataclass
class AegraCluster:
    """N Aegra instances sharing one fresh database and one Redis key prefix; a context manager."""

    postgres_url: str
    redis_url: str
    instances: int = 2
    env: Mapping[str, str] = field(default_factory=dict)
    log_dir: Path = field(default_factory=lambda: Path("/tmp"))
    venv: Path = field(default_factory=aegra_venv)
    name: str = field(default_factory=lambda: f"zyx_aegra_{uuid.uuid4().hex[:10]}")
    started: list[Instance] = field(default_factory=list)

    # -- setup -----------------------------------------------------------------------------------

    @property
    def database_url(self) -> str:
        return with_database(self.postgres_url, self.name)

    def base_env(self) -> dict[str, str]:
        """The instances' environment: ours (minus tracing), deploy/aegra.env, the cluster's, the caller's."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LANGSMITH_", "LANGCHAIN_", "AEGRA_"))}
        env.pop("VIRTUAL_ENV", None)
        env.pop("PYTHONPATH", None)  # the config's `dependencies` put the repository on sys.path
        env.update(read_env_file())
        env.update(
            DATABASE_URL=self.database_url, REDIS_URL=self.redis_url,
            WORKER_QUEUE_KEY=f"{self.name}:jobs", REDIS_CHANNEL_PREFIX=f"{self.name}:run:",
            PYTHONUNBUFFERED="1", PATH=f"{self.venv / 'bin'}:{env.get('PATH', '')}",
        )
        env.update(self.env)
        return env

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.postgres_url, autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Rows of a query on the cluster's database (Aegra's tables: runs, thread, assistant, ...)."""
        import psycopg

        with psycopg.connect(self.database_url, autocommit=True, connect_timeout=10) as conn:
            return list(conn.execute(sql, params).fetchall())  # type: ignore[arg-type]

    def start(self) -> AegraCluster:
        """Create and migrate the database, start the instances, wait until each answers /health."""
        aegra = self.venv / "bin" / "aegra"
        if not aegra.exists():
            raise ClusterError(f"no Aegra venv at {self.venv}: run scripts/aegra-env")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._admin(f'CREATE DATABASE "{self.name}"')
        try:
            migrate = subprocess.run([str(aegra), "db", "upgrade"], cwd=ROOT, env=self.base_env(),
                                     capture_output=True, text=True, timeout=120)
            if migrate.returncode != 0:
                raise ClusterError(f"aegra db upgrade failed:\n{(migrate.stdout + migrate.stderr)[-3000:]}")
            # The first boot on a fresh database creates the graphs' default assistants; Aegra 0.11 has no
            # lock around that, so two first boots at once can both insert them and one fails. One first.
            self.wait_healthy(self.add_instance())
            for instance in [self.add_instance() for _ in range(self.instances - 1)]:
                self.wait_healthy(instance)
        except BaseException:
            self.stop()
            raise
        return self

    def add_instance(self) -> Instance:
        """Start one more instance (not waited for: see `wait_healthy`)."""
        index, port = len(self.started), free_port()
        log = self.log_dir / f"{self.name}-{index}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [str(self.venv / "bin" / "aegra"), "serve", "--host", "127.0.0.1", "--port", str(port),
                 "--config", str(CONFIG)],
                cwd=ROOT, env=self.base_env(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        instance = Instance(index, port, process, log)
        self.started.append(instance)
        return instance

    def wait_healthy(self, instance: Instance, timeout: float = START_TIMEOUT) -> None:
        """Until `instance` answers /health with its database connected; a ClusterError with its log if not."""
        deadline = time.monotonic() + timeout
        while True:
            if not instance.alive():
                raise ClusterError(f"aegra instance {instance.index} exited with {instance.process.returncode}:\n"
                                   f"{instance.tail()}")
            try:
                with urllib.request.urlopen(f"{instance.url}/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise ClusterError(f"aegra instance {instance.index} did not answer /health in {timeout:.0f} s:\n"
                                   f"{instance.tail()}")
            time.sleep(0.1)

    # -- faults and teardown --------------------------------------------------------------------

    def kill(self, instance: Instance) -> None:
        """SIGKILL the instance's whole process group, as a crashed machine would stop it."""
        if instance.alive():
            os.killpg(instance.process.pid, signal.SIGKILL)
        instance.process.wait(timeout=10)

    def stop(self) -> None:
        """Stop every instance (SIGTERM, then SIGKILL after 10 s) and drop the database."""
        for instance in self.started:
            if instance.alive():
                try:
                    os.killpg(instance.process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
        for instance in self.started:
            try:
                instance.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(instance.process.pid, signal.SIGKILL)
                instance.process.wait(timeout=10)
        import psycopg

        with contextlib.suppress(psycopg.OperationalError):  # the server is gone already: nothing left to drop
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def __enter__(self) -> AegraCluster:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


class RedisServer:
    """A private `redis-server` on a free 127.0.0.1 port, no persistence; a context manager that stops it."""

    def __init__(self, binary: str = "redis-server") -> None:
        self.binary, self.port = binary, free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def __enter__(self) -> RedisServer:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 20
        while not _answers_ping(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.__exit__(None, None, None)
                raise ClusterError(f"redis-server did not start on port {self.port}")
            time.sleep(0.05)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False
