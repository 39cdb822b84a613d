"""Faults of the machine made for real in tests: small tmpfs file systems that fill up, read-only mounts, a process
that obeys file permissions although it runs as root, SIGKILL at random moments, and an SSH file system (sshfs)
as the network share.

Mounting needs root (CI runs as root). `need_mounts()` fails under CI when mounting is impossible and skips
with the reason otherwise."""
from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

PR_CAPBSET_DROP = 24
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER = 1, 2, 3


def _unavailable(reason: str) -> None:
    import pytest
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def mount_problem() -> str | None:
    """Why a small tmpfs cannot be mounted here (None: it can)."""
    if sys.platform != "linux":
        return "mount(8) tests run on Linux"
    if os.geteuid() != 0:
        return "mounting a tmpfs needs root (CI runs as root): run the fault tests as root"
    probe = Path(os.environ.get("TMPDIR", "/tmp")) / f"thidua-mount-probe-{os.getpid()}"
    probe.mkdir(exist_ok=True)
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(probe)], capture_output=True,
                              text=True)
        if done.returncode != 0:
            return f"mount -t tmpfs failed: {done.stderr.strip()}"
        subprocess.run(["umount", str(probe)], check=True)
        return None
    finally:
        with contextlib.suppress(OSError):
            probe.rmdir()


def need_mounts() -> None:
    problem = mount_problem()
    if problem:
        _unavailable(problem)


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True, text=True)


@contextlib.contextmanager
def tmpfs(path: Path, size: int):
    """A tmpfs of `size` bytes mounted at `path` for the block (unmounted after, even when the test fails)."""
    need_mounts()
    path.mkdir(parents=True, exist_ok=True)
    _mount("-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path))
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def resize(path: Path, size: int) -> None:
    """Grow (or shrink) a mounted tmpfs in place: the fault removed, its files kept."""
    _mount("-o", f"remount,size={size}", str(path))


def remount(path: Path, readonly: bool) -> None:
    _mount("-o", f"remount,{'ro' if readonly else 'rw'}", str(path))


@contextlib.contextmanager
def bind_read_only(src: Path, dst: Path):
    """`src` seen read-only at `dst` (a read-only share or a CD)."""
    need_mounts()
    dst.mkdir(parents=True, exist_ok=True)
    _mount("--bind", str(src), str(dst))
    try:
        _mount("-o", "remount,bind,ro", str(dst))
        yield dst
    finally:
        subprocess.run(["umount", "-l", str(dst)], capture_output=True)


def free(path: Path) -> int:
    return shutil.disk_usage(path).free


def fill(path: Path, leave: int = 0, name: str = "lap-day.bin") -> Path:
    """Take all the free space of `path`'s file system but `leave` bytes, in one filler file."""
    filler = path / name
    with open(filler, "ab") as fh:
        block = b"\0" * (1 << 16)
        while free(path) > leave:
            want = min(len(block), free(path) - leave)
            try:
                fh.write(block[:max(want, 1)])
                fh.flush()
            except OSError:
                break
    return filler


def obey_permissions() -> None:
    """preexec_fn: the child (and what it runs) obeys file permissions even as root — CAP_DAC_OVERRIDE,
    CAP_DAC_READ_SEARCH and CAP_FOWNER leave the bounding set, so the exec'd program never has them."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def permission_problem() -> str | None:
    """Why chmod cannot make a file unwritable for a child process here (None: it can)."""
    probe = Path(os.environ.get("TMPDIR", "/tmp")) / f"thidua-chmod-probe-{os.getpid()}"
    probe.write_text("x")
    probe.chmod(0o444)
    try:
        done = subprocess.run([sys.executable, "-c", f"open({str(probe)!r}, 'a').write('y')"], capture_output=True,
                              preexec_fn=obey_permissions)
        return None if done.returncode != 0 else "a read-only file stayed writable for the child process"
    finally:
        probe.chmod(0o644)
        probe.unlink()


def need_permissions() -> None:
    problem = permission_problem()
    if problem:
        _unavailable(problem)


# ---------------------------------------------------------------- killing at a random moment
def kill_at(proc: subprocess.Popen, after: float, ready=lambda: True, timeout: float = 120) -> bool:
    """SIGKILL `proc` `after` seconds once `ready()` holds; True if it was killed before it ended by itself."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            if ready():
                break
        except OSError:                   # a file looked at went away meanwhile
            pass
    end = time.monotonic() + after
    while time.monotonic() < end and proc.poll() is None:
        time.sleep(0.001)
    if proc.poll() is not None:
        return False
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return True


# ---------------------------------------------------------------- a network file system: sshfs over a local sshd
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sshfs_problem() -> str | None:
    missing = [tool for tool in ("sshd", "sshfs", "ssh-keygen", "fusermount")
               if not (shutil.which(tool) or Path(f"/usr/sbin/{tool}").exists())]
    if missing:
        return f"{', '.join(missing)} not installed: apt-get install sshfs openssh-server"
    if os.geteuid() != 0:
        return "the local sshd for the sshfs test runs as root (CI runs as root)"
    if not Path("/dev/fuse").exists():
        return "no /dev/fuse on this machine"
    return None


@contextlib.contextmanager
def sshfs(share: Path, mountpoint: Path, work: Path):
    """`share` served by a private sshd on 127.0.0.1 and mounted at `mountpoint` with sshfs (fuse.sshfs): a real
    network file system, with what SQLite's documentation warns about (no shared memory, no reliable locks)."""
    problem = sshfs_problem()
    if problem:
        _unavailable(problem)
    work.mkdir(parents=True, exist_ok=True)
    share.mkdir(parents=True, exist_ok=True)
    mountpoint.mkdir(parents=True, exist_ok=True)
    for name in ("host", "user"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(work / name)], check=True)
    (work / "authorized_keys").write_text((work / "user.pub").read_text())
    Path("/run/sshd").mkdir(parents=True, exist_ok=True)            # sshd's privilege-separation folder
    port = free_port()
    config = work / "sshd_config"
    config.write_text(f"Port {port}\nListenAddress 127.0.0.1\nHostKey {work / 'host'}\n"
                      f"AuthorizedKeysFile {work / 'authorized_keys'}\nPasswordAuthentication no\n"
                      "PermitRootLogin prohibit-password\nStrictModes no\nUsePAM no\n"
                      f"PidFile {work / 'sshd.pid'}\nSubsystem sftp internal-sftp\n")
    sshd = shutil.which("sshd") or "/usr/sbin/sshd"
    server = subprocess.Popen([sshd, "-D", "-f", str(config), "-E", str(work / "sshd.log")],
                              start_new_session=True)
    try:
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"sshd did not start: {(work / 'sshd.log').read_text(errors='replace')}")
            time.sleep(0.05)
        subprocess.run(["sshfs", "-p", str(port), "-o", f"IdentityFile={work / 'user'},StrictHostKeyChecking=no,"
                        "UserKnownHostsFile=/dev/null,LogLevel=ERROR", f"root@127.0.0.1:{share}", str(mountpoint)],
                       check=True, capture_output=True, text=True, timeout=60)
        try:
            yield mountpoint
        finally:
            subprocess.run(["fusermount", "-u", "-z", str(mountpoint)], capture_output=True)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(10)
