"""Real mail servers for the tests: Dovecot (IMAP) run unprivileged on 127.0.0.1, aiosmtpd capturing SMTP."""
from __future__ import annotations

import contextlib
import getpass
import grp
import imaplib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

USER, PASSWORD = "vanphong@cdvc.test", "mat-khau-ung-dung-2019"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_cert(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 / localhost, made with openssl."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


@dataclass
class Dovecot:
    """One Dovecot instance with its own config, base dir, passwd-file user and maildir in a temporary folder."""

    root: Path
    port: int = 0
    ssl_port: int = 0
    cert: Path | None = None
    proc: subprocess.Popen | None = None
    started_in: float = 0.0
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.root / "dovecot.log"

    # ---------------------------------------------------------------- life
    def start(self, tls: bool = False) -> "Dovecot":
        t0 = time.perf_counter()
        self.port, self.ssl_port = free_port(), (free_port() if tls else 0)
        if os.geteuid() == 0:     # root-started: Dovecot drops to its own users; mail belongs to `nobody`
            internal, login = "dovecot", "dovenull"
            mail_uid = pwd.getpwnam("nobody").pw_uid
        else:                     # unprivileged: everything runs as the current user
            internal = login = getpass.getuser()
            mail_uid = os.getuid()
        mail_gid = pwd.getpwuid(mail_uid).pw_gid
        home = self.root / "mail" / "vanphong"
        home.mkdir(parents=True)
        if os.geteuid() == 0:
            os.chown(home, mail_uid, mail_gid)
        (self.root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}:{mail_uid}:{mail_gid}::{home}\n")
        ssl_lines = "ssl = no\n"
        if tls:
            self.cert, key = make_cert(self.root)
            ssl_lines = f"ssl = yes\nssl_cert = <{self.cert}\nssl_key = <{key}\n"
        conf = self.root / "dovecot.conf"
        conf.write_text(f"""protocols = imap
listen = 127.0.0.1
base_dir = {self.root}/run
state_dir = {self.root}/state
instance_name = thidua-test-{self.port}
default_internal_user = {internal}
default_internal_group = {grp.getgrgid(pwd.getpwnam(internal).pw_gid).gr_name}
default_login_user = {login}
first_valid_uid = 1
log_path = {self.log}
{ssl_lines}disable_plaintext_auth = no
auth_mechanisms = plain login
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.root}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {self.root}/passwd
}}
mail_location = maildir:~/Maildir
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.ssl_port}
  }}
}}
""")
        self.proc = subprocess.Popen(["dovecot", "-c", str(conf), "-F"], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dovecot exited: {self.proc.stdout.read().decode(errors='replace')} "
                                   f"{self.log.read_text() if self.log.exists() else ''}")
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                break
            time.sleep(0.05)
        else:
            raise RuntimeError("dovecot did not listen within 20 s")
        self.started_in = time.perf_counter() - t0
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)

    # ---------------------------------------------------------------- mailbox
    def client(self) -> imaplib.IMAP4:
        conn = imaplib.IMAP4("127.0.0.1", self.port)
        conn.login(USER, PASSWORD)
        return conn

    def append(self, raw: bytes, internaldate: str, folder: str = "INBOX") -> None:
        """APPEND a message with an explicit INTERNALDATE like '15-Apr-2019 08:30:00 +0700'."""
        conn = self.client()
        try:
            typ, data = conn.append(_q(folder), None, f'"{internaldate}"', raw)
            assert typ == "OK", data
        finally:
            conn.logout()

    def flags(self, folder: str = "INBOX") -> list[bytes]:
        conn = self.client()
        try:
            conn.select(folder, readonly=True)
            typ, data = conn.fetch("1:*", "(FLAGS)")
            return [d for d in data if d]
        finally:
            conn.logout()

    def recreate(self, folder: str) -> None:
        """Delete a folder and create it again with the same messages: a new UIDVALIDITY, same content."""
        conn = self.client()
        try:
            conn.select(_q(folder), readonly=True)
            typ, data = conn.fetch("1:*", "(INTERNALDATE BODY.PEEK[])")
            msgs = [(imaplib.Internaldate2tuple(d[0]), d[1]) for d in data if isinstance(d, tuple)]
            conn.close()
            assert conn.delete(_q(folder))[0] == "OK"
            assert conn.create(_q(folder))[0] == "OK"
            for when, raw in msgs:
                conn.append(_q(folder), None, imaplib.Time2Internaldate(time.mktime(when)), raw)
        finally:
            conn.logout()

    def create(self, folder: str) -> None:
        conn = self.client()
        try:
            assert conn.create(_q(folder))[0] == "OK"
        finally:
            conn.logout()

    def uidvalidity(self, folder: str = "INBOX") -> int:
        conn = self.client()
        try:
            conn.select(_q(folder), readonly=True)
            return int(conn.response("UIDVALIDITY")[1][0])
        finally:
            conn.logout()


def _q(folder: str) -> str:
    return f'"{folder}"'


def password_file(folder: Path) -> Path:
    path = folder / "mat-khau.txt"
    path.write_text(PASSWORD + "\n", encoding="utf-8")
    path.chmod(0o600)
    return path


def temp_root() -> Path:
    """A folder Dovecot's own users can enter (pytest's tmp folders are private to their owner)."""
    root = Path(tempfile.mkdtemp(prefix="thidua-dovecot-"))
    root.chmod(0o755)
    return root


def remove(root: Path) -> None:
    shutil.rmtree(root, ignore_errors=True)


# ---------------------------------------------------------------- SMTP
class Capture:
    """aiosmtpd handler keeping every message received. A slow server with `delay`: it takes delay/2 to accept a
    recipient (a sender killed then never delivered), and waits delay/2 after keeping a message before it answers
    250 (a sender killed then does not know that its message arrived)."""

    def __init__(self, delay: float = 0.0) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.delay = delay

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.delay:
            import asyncio
            await asyncio.sleep(self.delay / 2)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content or envelope.content))
        if self.delay:
            import asyncio
            await asyncio.sleep(self.delay / 2)
        return "250 Message accepted for delivery"


def start_smtp(delay: float = 0.0):
    from aiosmtpd.controller import Controller
    capture = Capture(delay)
    controller = Controller(capture, hostname="127.0.0.1", port=free_port())
    controller.start()
    return controller, capture
