"""A real PostgreSQL server for the tests and the benchmark: Debian's `initdb` and `pg_ctl` on a temporary folder,
listening on 127.0.0.1 only, on a port the OS chose free; run as an unprivileged user (PostgreSQL refuses root).

    python tests/pgserver.py start DIR     # prints the URL of a fresh database; the server runs until
    python tests/pgserver.py stop DIR      # stopped (DIR is created and owned by the server's user)
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
ADMIN = "thidua_admin"              # the cluster's superuser (trusted on 127.0.0.1 and the socket)
PASSWORD_USER = "thidua_pw"         # a role that must give its password (scram-sha-256)
PASSWORD = "mat-khau-thu-nghiem"


def pg_bin(name: str) -> str | None:
    """A PostgreSQL program: on PATH, else in Debian's /usr/lib/postgresql/<version>/bin."""
    found = shutil.which(name)
    if found:
        return found
    for folder in BIN_DIRS:
        if (folder / name).is_file():
            return str(folder / name)
    return None


def available() -> str | None:
    """Why no server can be started here (None: it can)."""
    missing = [n for n in ("initdb", "pg_ctl", "postgres") if not pg_bin(n)]
    if missing:
        return f"PostgreSQL server programs not installed ({', '.join(missing)}): apt-get install postgresql"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg not installed (pip install -r requirements.txt)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_user(cmd: list[str]) -> list[str]:
    """Root cannot run PostgreSQL: run as the `postgres` system user (Debian's package creates it)."""
    if os.geteuid() != 0:
        return cmd
    return ["setpriv", "--reuid=postgres", "--regid=postgres", "--clear-groups", "--reset-env", *cmd]


class PgServer:
    """One throw-away cluster. `url(db)` names a database on it; `create_database()` makes a fresh one."""

    def __init__(self, root: Path | None = None, settings: dict[str, str] | None = None):
        self.root = Path(root) if root else Path(tempfile.mkdtemp(prefix="thidua-pg-"))
        self.data = self.root / "data"
        self.port = 0
        self.settings = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",
                         "max_connections": "60", "shared_buffers": "32MB"} if settings is None else settings

    # ------------------------------------------------------------ life
    def start(self) -> "PgServer":
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
            os.chmod(self.root, 0o700)
        if not (self.data / "PG_VERSION").exists():
            pwfile = self.root / "pw"
            pwfile.write_text(PASSWORD + "\n")
            if os.geteuid() == 0:
                shutil.chown(pwfile, "postgres", "postgres")
            self._run([pg_bin("initdb"), "-D", str(self.data), "-U", ADMIN, "-E", "UTF8", "--locale=C",
                       "--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={pwfile}"])
            hba = self.data / "pg_hba.conf"
            hba.write_text(f"local all all trust\nhost all {ADMIN} 127.0.0.1/32 trust\n"
                           f"host all all 127.0.0.1/32 scram-sha-256\n")
            if os.geteuid() == 0:
                shutil.chown(hba, "postgres", "postgres")
        self.port = self.port or free_port()
        if not self.running():
            self._pg_ctl_start()
        self.admin(f"DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{PASSWORD_USER}') THEN "
                   f"CREATE ROLE {PASSWORD_USER} LOGIN PASSWORD '{PASSWORD}'; END IF; END$$")
        return self

    def _pg_ctl_start(self) -> None:
        opts = f"-h 127.0.0.1 -p {self.port} -k {self.data}" + "".join(
            f" -c {k}={v}" for k, v in self.settings.items())
        self._run([pg_bin("pg_ctl"), "-D", str(self.data), "-o", opts, "-l", str(self.root / "log"), "-w",
                   "-t", "60", "start"])

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists() and \
            self._run([pg_bin("pg_ctl"), "-D", str(self.data), "status"], check=False).returncode == 0

    def restart(self) -> None:
        """Start again after `kill()` (same port, same data)."""
        self._pg_ctl_start()

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run([pg_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"], check=False)

    def kill(self) -> None:
        """The server goes away at once (as a crash or a pulled cable would look to a client)."""
        self._run([pg_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"], check=False)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def _run(self, cmd: list, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run(_as_server_user([str(c) for c in cmd]), capture_output=True, text=True, cwd="/")
        if check and done.returncode != 0:
            log = (self.root / "log").read_text(errors="replace")[-2000:] if (self.root / "log").exists() else ""
            raise RuntimeError(f"{cmd[0]} failed: {done.stdout}{done.stderr}{log}")
        return done

    # ------------------------------------------------------------ databases
    def url(self, db: str = "postgres", user: str = ADMIN) -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{db}"

    def admin(self, sql: str, db: str = "postgres") -> list[tuple]:
        import psycopg
        with psycopg.connect(self.url(db), autocommit=True) as conn:
            cur = conn.execute(sql)
            return cur.fetchall() if cur.description else []

    def create_database(self, name: str | None = None, owner: str = ADMIN) -> str:
        """A new empty database; returns its URL (for `owner`)."""
        name = name or f"t_{uuid.uuid4().hex[:12]}"
        self.admin(f'CREATE DATABASE "{name}" OWNER {owner}')
        return self.url(name, owner)

    def drop_database(self, name: str) -> None:
        self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("start", "stop"):
        print(__doc__)
        return 2
    server = PgServer(Path(argv[1]).resolve(), settings={})
    port_file = server.root / "port"
    if argv[0] == "stop":
        server.stop()
        return 0
    if port_file.exists():
        server.port = int(port_file.read_text())
    server.start()
    port_file.write_text(str(server.port))
    print(server.create_database(f"bench_{int(time.time())}"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
