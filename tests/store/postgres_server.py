"""A throwaway PostgreSQL server for the tests: `initdb` in a temporary directory, started
with `pg_ctl` on a free loopback port, stopped and deleted after.

Used by tests/store/conftest.py (once per test session). Debian's `postgresql` package
puts the binaries under /usr/lib/postgresql/<version>/bin; `make system-deps` installs it.
PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` user.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


def _bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not found:
        raise RuntimeError("PostgreSQL is not installed: run `make system-deps`")
    return Path(found[-1]).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PostgresServer:
    """One running cluster: `dsn` of its `postgres` database, `url(db)` of another."""

    root: Path
    port: int
    bindir: Path
    # Durability off: a throwaway cluster for tests (bench/ha.py sets "" for the defaults).
    options: str = " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories=''"
            " -c max_connections=200" + self.options
        )
        log = str(self.root / "server.log")
        self._run("pg_ctl", "-D", str(self.data), "-l", log, "-o", options, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")


def start_server() -> PostgresServer:
    """initdb a cluster in a new temporary directory and start it."""
    bindir = _bin_dir()
    root = Path(tempfile.mkdtemp(prefix="triage-bot-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    server = PostgresServer(root, _free_port(), bindir)
    server._run("initdb", "-D", str(server.data), "-A", "trust", "-U", "postgres", "-E", "UTF8")
    server.start()
    return server


def remove_server(server: PostgresServer) -> None:
    """Stop the cluster (immediately: nothing in it is kept) and delete its directory."""
    try:
        server.stop("immediate")
    finally:
        shutil.rmtree(server.root, ignore_errors=True)


async def fresh_database(server: PostgresServer, name: str) -> str:
    """The URL of database `name` on `server`, dropped first if a run left one (benches)."""
    import asyncpg  # here: the server helpers above need no driver

    admin = await asyncpg.connect(server.url())
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return server.url(name)
