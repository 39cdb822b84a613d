"""The README's first command, verbatim, on a fresh copy of the project as a new user runs it: with the system's
Python (PEP 668 refuses a bare `pip install` there), then in fresh Debian 12 and Ubuntu 24.04 roots made by
debootstrap; after it, every command the README shows, as shown, on the demo's files."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
STOCK_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"     # root's PATH on stock Debian
# Each follow-up command's exit code when it does what the README says (validate: 1 = some files have errors).
EXPECTED_CODE = {"validate": 1}
# What debootstrap makes: (suite, mirror, extra arguments, the stock system's apt sources). Debian has no
# keyring for Ubuntu's archive (the root it makes has Ubuntu's own, which apt then uses).
SYSTEMS = {
    "debian12": ("bookworm", "http://deb.debian.org/debian", [],
                 "deb http://deb.debian.org/debian bookworm main\n"
                 "deb http://deb.debian.org/debian bookworm-updates main\n"
                 "deb http://deb.debian.org/debian-security bookworm-security main\n"),
    "ubuntu2404": ("noble", "http://archive.ubuntu.com/ubuntu",
                   ["--no-check-gpg", "/usr/share/debootstrap/scripts/gutsy"],
                   "deb http://archive.ubuntu.com/ubuntu noble main restricted universe multiverse\n"
                   "deb http://archive.ubuntu.com/ubuntu noble-updates main restricted universe multiverse\n"
                   "deb http://security.ubuntu.com/ubuntu noble-security main restricted universe multiverse\n"),
}
# This machine's own trust for HTTPS (its network may inspect TLS with a local authority): carried into the
# root as it is here, so that pip there reaches PyPI as pip here does. A user's machine needs none of it.
NETWORK_TRUST = ("/etc/pip.conf", "/etc/ssl/certs/ca-certificates.crt", "/usr/local/share/ca-certificates")


def fenced_blocks() -> list[str]:
    return [b for b in re.findall(r"```\n(.*?)```", README, re.S)]


def first_command() -> str:
    return next(b.strip() for b in fenced_blocks() if "thidua demo" in b and b.strip().count("\n") == 0)


def follow_up_commands() -> list[str]:
    """Every command line of the README's shell blocks after the first command (blocks of `thidua` lines)."""
    lines = []
    for block in fenced_blocks():
        rows = [r for r in block.splitlines() if r.strip()]
        if rows and all(r.startswith(("thidua ", "export ")) for r in rows):
            lines += rows
    return lines


def _need(what: str, ok: bool) -> None:
    if not ok:
        reason = f"{what}: needed to run the README's first command as a new user would"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


def fresh_copy(dest: Path) -> Path:
    """The project's files as a fresh clone has them (tracked and new files; nothing ignored, no .venv)."""
    names = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, names):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


def script() -> str:
    """Command 1, then each follow-up in the same shell (the activated venv carries over), marked for parsing."""
    out = ["cd \"$(dirname \"$0\")\"", "echo \"@@t start $(date +%s.%N)\"", first_command() + " || exit 101",
           "echo \"@@t first $(date +%s.%N)\"",
           "python -c 'import sys; print(\"@@python\", sys.version.split()[0], sys.prefix, sys.base_prefix)'"]
    for i, line in enumerate(follow_up_commands()):
        out += [f"echo '@@cmd {i}'", line, f"echo \"@@rc {i} $?\""]
    return "\n".join(out + ["echo \"@@t end $(date +%s.%N)\""]) + "\n"


def timings(out: str) -> str:
    """Seconds taken by the first command and by the follow-ups (printed with -s; the report quotes them)."""
    t = {k: float(v) for k, v in re.findall(r"^@@t (\w+) ([\d.]+)$", out, re.M)}
    return f"first command {t['first'] - t['start']:.0f} s, the follow-ups {t['end'] - t['first']:.0f} s"


def stock_env(home: str) -> dict[str, str]:
    env = {"PATH": STOCK_PATH, "HOME": home, "LANG": "C.UTF-8", "DEBIAN_FRONTEND": "noninteractive",
           "THIDUA_BUNDLE_CACHE": os.environ.get("THIDUA_BUNDLE_CACHE", "")}
    return {k: v for k, v in env.items() if v}


def check_run(out: str, code: int, tree: Path, python_version: str) -> None:
    assert code == 0, out[-3000:]
    assert "Traceback" not in out and "externally-managed-environment" not in out, out[-3000:]
    where = re.search(r"^@@python (\S+) (\S+) (\S+)$", out, re.M)
    assert where, out[-3000:]
    assert where.group(1) == python_version and where.group(3) == "/usr", where.group(0)   # the system's Python
    assert where.group(2).endswith("/.venv"), where.group(0)                               # inside the README's venv
    commands = follow_up_commands()
    for i, line in enumerate(commands):
        if line.startswith("export "):
            continue
        part = out.split(f"@@cmd {i}\n", 1)[1].split(f"@@rc {i} ", 1)
        rc = int(part[1].split()[0])
        expected = EXPECTED_CODE.get(line.split()[1], 0)
        assert rc == expected, f"{line}\n-> exit {rc}\n{part[0][-2000:]}"
    demo = tree / "demo-output"
    assert (demo / "thidua.toml").is_file() and list((demo / "thu-gui" / "Q1").glob("*.eml"))
    assert (demo / "tong-ket.xlsx").is_file() and (demo / "tong-ket.pdf").read_bytes()[:5] == b"%PDF-"
    assert (demo / "bao-cao" / "tong-ket-nam-2019.pdf").is_file()          # the demo's own PDFs (LibreOffice)
    assert list(demo.glob("ThiDua-*-win64.zip")), "bundle-windows wrote no zip"
    papers = list((demo / "khen-thuong").glob("QuyetDinh_02_*.pdf"))          # awards papers (LibreOffice Writer)
    assert papers and papers[0].read_bytes()[:5] == b"%PDF-"


def test_the_readme_names_the_venv_and_the_follow_ups_use_the_demo_files():
    cmd = first_command()
    assert "python3 -m venv .venv && . .venv/bin/activate && pip install -r requirements.txt -e ." in cmd
    assert "python3-venv" in cmd.split("&&")[1]                  # Debian's python3 has no venv without it
    lines = follow_up_commands()
    assert lines[0] == "export THIDUA_KEY_FILE=demo-output/demo-office.key"
    for line in lines[1:]:
        assert line.startswith("thidua ") and "SHA256 " not in line and "demo-output" in line, line


def test_readme_first_command_with_the_system_python_then_every_command_shown(tmp_path):
    """On this machine: the system's /usr/bin/python3, a fresh copy, root's stock PATH (no pyenv, no PYTHONPATH)."""
    _need("root (apt-get)", os.geteuid() == 0)
    _need("Debian's python3", Path("/usr/bin/python3").exists())
    tree = fresh_copy(tmp_path / "thidua")
    (tree / "run.sh").write_text(script(), encoding="utf-8")
    apt = tmp_path / "apt.conf"                 # wait for another apt-get instead of failing at once
    apt.write_text('DPkg::Lock::Timeout "600";\n')
    env = stock_env(os.environ.get("HOME", "/root")) | {"APT_CONFIG": str(apt)}
    run = subprocess.run(["bash", str(tree / "run.sh")], env=env, capture_output=True, text=True, timeout=1800)
    version = subprocess.run(["/usr/bin/python3", "-c", "import sys; print(sys.version.split()[0])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    check_run(run.stdout + run.stderr, run.returncode, tree, version)
    print("system Python:", timings(run.stdout))
    bare = subprocess.run(["/usr/bin/python3", "-m", "pip", "install", "--dry-run", "-r", "requirements.txt"],
                          cwd=tree, env=stock_env("/root"), capture_output=True, text=True)
    if Path("/usr/lib/python3.11/EXTERNALLY-MANAGED").exists():       # why the README needs the venv
        assert bare.returncode != 0 and "externally-managed-environment" in bare.stderr + bare.stdout


@pytest.mark.parametrize("system", sorted(SYSTEMS))
def test_readme_first_command_in_a_fresh_root(system, tmp_path):
    """debootstrap --variant=minbase: a root with nothing but the base system; the README's commands inside it
    as root (mount, /proc and /dev/shm in a mount namespace of their own: nothing outlives the run)."""
    _need("root (debootstrap, chroot)", os.geteuid() == 0)
    _need("debootstrap (apt-get install debootstrap)", bool(shutil.which("debootstrap")))
    suite, mirror, extra, sources = SYSTEMS[system]
    root = tmp_path / system
    started = time.monotonic()
    made = subprocess.run(["debootstrap", "--variant=minbase", *extra[:1], suite, str(root), mirror, *extra[1:]],
                          capture_output=True, text=True, timeout=1200)
    assert made.returncode == 0, made.stdout[-2000:] + made.stderr[-2000:]
    made_in = round(time.monotonic() - started)
    assert not (root / "usr" / "bin" / "python3").exists()        # stock minimal system: no Python yet
    shutil.copy2("/etc/resolv.conf", root / "etc" / "resolv.conf")
    (root / "etc" / "apt" / "sources.list").write_text(sources)           # as the stock system has them
    for name in NETWORK_TRUST:
        src, dest = Path(name), root / name.lstrip("/")
        if src.is_dir():
            shutil.copytree(src, dest, dirs_exist_ok=True)
        elif src.is_file():
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest)
    tree = fresh_copy(root / "root" / "thidua")
    (tree / "run.sh").write_text(script(), encoding="utf-8")
    # Downloads already made on this machine are reused (pip's and the bundle's caches): same files, less traffic.
    mounts = []
    for cache in (Path.home() / ".cache" / "pip", Path.home() / ".cache" / "thidua-bundle"):
        cache.mkdir(parents=True, exist_ok=True)
        inside = root / "root" / ".cache" / cache.name
        inside.mkdir(parents=True, exist_ok=True)
        mounts.append(f"mount --bind '{cache}' '{inside}'")
    inner = " && ".join([f"mount -t proc proc '{root}/proc'", f"mount -t tmpfs tmpfs '{root}/dev/shm'", *mounts,
                         f"chroot '{root}' /usr/bin/env -i PATH={STOCK_PATH} HOME=/root LANG=C.UTF-8 "
                         "DEBIAN_FRONTEND=noninteractive bash /root/thidua/run.sh"])
    try:
        run = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", inner],
                             capture_output=True, text=True, timeout=2400)
        out = run.stdout + run.stderr
        version = re.search(r"^@@python (\S+)", out, re.M)
        check_run(out, run.returncode, tree, version.group(1) if version else "?")
        assert version.group(1).startswith({"debian12": "3.11.", "ubuntu2404": "3.12."}[system])
        print(system, ": debootstrap", made_in, "s,", timings(run.stdout))
    finally:
        subprocess.run(["rm", "-rf", "--one-file-system", str(root)], capture_output=True)


def test_without_a_sender_the_hint_names_the_settings_file_where_it_is_looked_for(tmp_path, capsys, monkeypatch):
    """`mail send --db DIR/thidua.db` reads DIR/thidua.toml; without a sender the hint names that very file, and
    once it is written there (as the demo writes it) the command finds it."""
    from thidua import cli
    from thidua.mail.settings import write_demo_settings
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "van-phong" / "thidua.db"
    args = ["mail", "send", "--db", str(db), "--round", "Q1", "--what", "reminders", "--dry-run", "--out", "o"]
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert "Chưa có địa chỉ gửi thư" in err and f"vào tệp {db.parent / 'thidua.toml'}" in err, err
    write_demo_settings(db.parent, "vanphong@congdoan.example.org")
    assert cli.main(args) == 2                                    # now past the sender: no store yet
    err = capsys.readouterr().err
    assert "Chưa có địa chỉ gửi thư" not in err and "Chưa có cơ sở dữ liệu tổng hợp" in err, err
