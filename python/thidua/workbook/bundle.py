"""The Windows bundle: master workbook, cai-dat.bat, uv.exe and every wheel for 64-bit CPython 3.12."""
from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from thidua import __version__
from thidua.errors import ThiDuaError
from thidua.fileio import atomic_path

ROOT = Path(__file__).resolve().parents[3]
REQUIREMENTS = ROOT / "requirements.txt"
WORKBOOK = ROOT / "workbook" / "ThiDua2019.xlsm"
SETUP_SCRIPT = ROOT / "workbook" / "cai-dat.bat"
DEFAULT_CACHE = Path.home() / ".cache" / "thidua-bundle"

PYTHON_VERSION = (3, 12)                 # the CPython the office PC gets (cai-dat.bat pins its patch release)
PLATFORM = "win_amd64"
UV_VERSION = "0.13.9"                    # uv.exe comes from this release's win_amd64 wheel
SDIST_ONLY = ("odfpy",)                  # pinned packages with no wheel on the index: built once here
SUPPORT_DIR = "goi-cai-dat"              # in the zip: uv.exe and wheels/ beside cai-dat.bat
LOCK_NAME = "requirements-win64.txt"
PYTHON_DIR = f"{SUPPORT_DIR}/python"     # in the zip: a CPython archive for offices without Internet
PYTHON_NOTE = "python-offline.txt"       # KEY=VALUE lines cai-dat.bat reads (version, file, SHA-256)
# python-build-standalone's names: cpython-3.12.16+20261110-x86_64-pc-windows-msvc-install_only.tar.gz
CPYTHON_NAME = re.compile(r"cpython-(\d+)\.(\d+)\.(\d+)\+(\d{8})-x86_64-pc-windows-msvc-"
                          r"(install_only|install_only_stripped)\.tar\.gz")
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
# The marker environment of 64-bit CPython 3.12 on Windows: pip evaluates markers for the machine it runs
# on, so `pywin32; platform_system == "Windows"` (xlwings) would be left out of a bundle built on Linux.
WINDOWS_MARKERS = {
    "implementation_name": "cpython", "implementation_version": "3.12.0", "os_name": "nt",
    "platform_machine": PLATFORM.split("_", 1)[1].upper(),      # what 64-bit Windows reports: AMD64
    "platform_python_implementation": "CPython", "platform_release": "10",
    "platform_system": "Windows", "platform_version": "10.0", "python_full_version": "3.12.0",
    "python_version": "3.12", "sys_platform": "win32", "extra": "",
}


@dataclass(frozen=True)
class Bundle:
    """What bundle_windows wrote: the zip, its wheels (file names) and how long it took."""

    path: Path
    wheels: tuple[str, ...]
    seconds: float


def bundle_name(version: str = __version__, offline: bool = False) -> str:
    return f"ThiDua-{version}-win64{'-kem-python' if offline else ''}.zip"


def _pip(args: list[str], what: str) -> None:
    env = dict(os.environ, SOURCE_DATE_EPOCH="315532800")     # wheels built here get fixed zip dates
    run = subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
                         capture_output=True, text=True, env=env)
    if run.returncode != 0:
        tail = "\n".join((run.stderr or run.stdout).strip().splitlines()[-3:])
        raise ThiDuaError(f"Không {what} được (pip):\n{tail}",
                          "Kiểm tra kết nối tới PyPI (lệnh này cần mạng) và các phiên bản ghim trong requirements.txt.")


def _requirement(line: str):
    from packaging.requirements import InvalidRequirement, Requirement
    try:
        return Requirement(line)
    except InvalidRequirement as exc:
        raise ThiDuaError(f"Dòng không đọc được trong requirements.txt: {line!r} ({exc}).",
                          "Viết mỗi dòng dạng tên==phiên_bản.") from None


def windows_requirements(requirements: Path = REQUIREMENTS) -> list:
    """The pinned lines of requirements.txt that apply on Windows (markers evaluated for Windows)."""
    reqs = []
    for raw in Path(requirements).read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        req = _requirement(line)
        if req.marker is None or req.marker.evaluate(WINDOWS_MARKERS):
            reqs.append(req)
    return reqs


def _supported_tags() -> set:
    from packaging import tags
    interpreter = f"cp{PYTHON_VERSION[0]}{PYTHON_VERSION[1]}"
    return set(tags.cpython_tags(PYTHON_VERSION, [interpreter, "abi3", "none"], [PLATFORM])) | set(
        tags.compatible_tags(PYTHON_VERSION, interpreter, [PLATFORM]))


def _wheel_index(folder: Path) -> dict[str, list[tuple]]:
    """name -> [(version, path)] of the wheels in `folder` that install on 64-bit CPython 3.12 for Windows."""
    from packaging.utils import parse_wheel_filename
    supported, index = _supported_tags(), {}
    for path in sorted(Path(folder).glob("*.whl")):
        name, version, _, wheel_tags = parse_wheel_filename(path.name)
        if wheel_tags & supported:
            index.setdefault(name, []).append((version, path))
    return index


def _requires(wheel: Path) -> list:
    from email.parser import HeaderParser
    with zipfile.ZipFile(wheel) as zf:
        meta = next(n for n in zf.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA"))
        headers = HeaderParser().parsestr(zf.read(meta).decode("utf-8"))
    return [_requirement(r) for r in headers.get_all("Requires-Dist") or []]


def resolve_offline(top: list, folder: Path) -> list[Path]:
    """Every wheel `top` needs on Windows/CPython 3.12, taken from `folder` only; a missing one is an error."""
    from packaging.utils import canonicalize_name
    index, chosen, missing = _wheel_index(folder), {}, []
    todo = list(top)
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        if req.marker is not None and not req.marker.evaluate(WINDOWS_MARKERS):
            continue
        if name in chosen:
            if chosen[name][0] not in req.specifier:
                missing.append(f"{req} (có {name} {chosen[name][0]})")
            continue
        fits = [(v, p) for v, p in index.get(name, []) if req.specifier.contains(v, prereleases=True)]
        if not fits:
            missing.append(str(req))
            continue
        chosen[name] = max(fits)
        todo.extend(_requires(chosen[name][1]))
    if missing:
        raise ThiDuaError("Thiếu gói cho Windows 64-bit / Python 3.12: " + ", ".join(sorted(set(missing))) + ".",
                          "Ghim gói đó trong requirements.txt (kèm ; platform_system == \"Windows\" nếu chỉ cần "
                          "trên Windows) rồi chạy lại.")
    return sorted(p for _, p in chosen.values())


def _stamp(reqs: list) -> str:
    text = "\n".join(sorted(map(str, reqs))) + f"\n{PYTHON_VERSION}{PLATFORM}"
    return hashlib.sha256(text.encode()).hexdigest()


def dependency_wheels(cache: Path, requirements: Path = REQUIREMENTS) -> list[Path]:
    """The win_amd64/cp312 wheels of every pinned dependency, downloaded once into `cache` (needs PyPI)."""
    reqs = windows_requirements(requirements)
    folder = Path(cache) / f"wheels-{PLATFORM}-cp{PYTHON_VERSION[0]}{PYTHON_VERSION[1]}"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = folder / ".requirements.sha256"
    if stamp.exists() and stamp.read_text() == _stamp(reqs):
        try:
            return resolve_offline(reqs, folder)
        except ThiDuaError:                             # a cache emptied by hand: download again
            stamp.unlink()
    if not stamp.exists() or stamp.read_text() != _stamp(reqs):
        for req in reqs:
            if req.name.lower() in SDIST_ONLY:
                _pip(["wheel", "--no-deps", "-w", str(folder), f"{req.name}{req.specifier}"], f"tạo wheel {req.name}")
        with tempfile.TemporaryDirectory(prefix="thidua-req-") as tmp:
            plain = Path(tmp) / "requirements.txt"      # markers already evaluated for Windows
            plain.write_text("\n".join(f"{r.name}{r.specifier}" for r in reqs) + "\n", encoding="utf-8")
            _pip(["download", "--only-binary=:all:", "--platform", PLATFORM, "--implementation", "cp",
                  "--python-version", ".".join(map(str, PYTHON_VERSION)),
                  "--abi", f"cp{PYTHON_VERSION[0]}{PYTHON_VERSION[1]}", "--find-links", str(folder),
                  "-r", str(plain), "-d", str(folder)], "tải các gói cho Windows")
            _fill_windows_only(folder)
        stamp.write_text(_stamp(reqs))
    return resolve_offline(reqs, folder)


def _fill_windows_only(folder: Path) -> None:
    """Download what the wheels need on Windows only (pip on Linux skips those); repeat until complete."""
    from packaging.utils import canonicalize_name
    for _ in range(5):
        index = _wheel_index(folder)
        wanted = {f"{r.name}{r.specifier}" for whl in folder.glob("*.whl") for r in _requires(whl)
                  if (r.marker is None or r.marker.evaluate(WINDOWS_MARKERS))
                  and canonicalize_name(r.name) not in index}
        if not wanted:
            return
        _pip(["download", "--only-binary=:all:", "--platform", PLATFORM, "--implementation", "cp",
              "--python-version", ".".join(map(str, PYTHON_VERSION)), "--no-deps", "-d", str(folder),
              *sorted(wanted)], "tải các gói chỉ dùng trên Windows")


def package_wheel(dest: Path) -> Path:
    """The thidua package as a wheel, built from a copy of the source (the worktree stays clean)."""
    with tempfile.TemporaryDirectory(prefix="thidua-src-") as tmp:
        src = Path(tmp) / "src"
        src.mkdir()
        for name in ("pyproject.toml", "setup.py"):        # setup.py maps macros/ into the package
            shutil.copy2(ROOT / name, src)
        for folder in ("python", "macros"):
            shutil.copytree(ROOT / folder, src / folder,
                            ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc"))
        _pip(["wheel", "--no-deps", "-w", str(dest), str(src)], "tạo wheel của gói thidua")
    return next(Path(dest).glob(f"thidua-{__version__}-*.whl"))


def uv_exe(cache: Path) -> bytes:
    """uv.exe from the pinned uv release's win_amd64 wheel (downloaded once into `cache`)."""
    folder = Path(cache) / "uv"
    wheels = sorted(folder.glob(f"uv-{UV_VERSION}-*{PLATFORM}.whl"))
    if not wheels:
        _pip(["download", "--no-deps", "--only-binary=:all:", "--platform", PLATFORM, "-d", str(folder),
              f"uv=={UV_VERSION}"], "tải uv")
        wheels = sorted(folder.glob(f"uv-{UV_VERSION}-*{PLATFORM}.whl"))
    with zipfile.ZipFile(wheels[0]) as zf:
        return zf.read(f"uv-{UV_VERSION}.data/scripts/uv.exe")


def _add(zf: zipfile.ZipFile, name: str, data: bytes) -> None:
    kind = zipfile.ZIP_STORED if name.endswith((".whl", ".gz")) else zipfile.ZIP_DEFLATED
    info = zipfile.ZipInfo(name, ZIP_DATE)
    info.external_attr = 0o644 << 16
    zf.writestr(info, data, kind)


@dataclass(frozen=True)
class PythonArchive:
    """A CPython build for 64-bit Windows the builder supplies (python-build-standalone's install_only)."""

    path: Path
    version: tuple[int, int, int]
    build: str
    sha256: str

    def note(self) -> str:
        """goi-cai-dat/python/python-offline.txt: what cai-dat.bat needs to have uv install it offline."""
        major, minor, patch = self.version
        lines = [f"MAJOR={major}", f"MINOR={minor}", f"PATCH={patch}", f"BUILD={self.build}",
                 f"FILE={self.path.name}", f"SHA256={self.sha256}"]
        return "\r\n".join(lines) + "\r\n"


def python_archive(path: str | Path) -> PythonArchive:
    """Check a supplied CPython archive: its name (version, build, platform) and that it holds python.exe."""
    import tarfile
    path = Path(path)
    want = (f"Dùng bản «install_only» của python-build-standalone cho Windows 64-bit, Python "
            f"{PYTHON_VERSION[0]}.{PYTHON_VERSION[1]}, giữ nguyên tên tệp (dạng cpython-"
            f"{PYTHON_VERSION[0]}.{PYTHON_VERSION[1]}.X+NGÀY-x86_64-pc-windows-msvc-install_only.tar.gz).")
    if not path.is_file():
        raise ThiDuaError(f"Không thấy tệp Python {path}.", want)
    found = CPYTHON_NAME.fullmatch(path.name)
    if not found:
        raise ThiDuaError(f"Tên tệp {path.name} không phải một bản CPython cho Windows 64-bit.", want)
    version = tuple(int(found.group(i)) for i in (1, 2, 3))
    if version[:2] != PYTHON_VERSION:
        raise ThiDuaError(f"Tệp {path.name} là Python {version[0]}.{version[1]}; các thư viện trong gói là cho "
                          f"Python {PYTHON_VERSION[0]}.{PYTHON_VERSION[1]}.", want)
    try:
        with tarfile.open(path, "r:gz") as tar:
            names = {m.name.lstrip("./") for m in tar.getmembers()}
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ThiDuaError(f"Không đọc được tệp {path.name}: {exc}.", want) from None
    if "python/python.exe" not in names:
        raise ThiDuaError(f"Tệp {path.name} không có python/python.exe.", want)
    with open(path, "rb") as fh:
        sha = hashlib.file_digest(fh, "sha256").hexdigest()
    return PythonArchive(path, version, found.group(4), sha)


def _need_tools() -> None:
    """bundle-windows needs packaging and pip (both in requirements): say what to install, not a traceback."""
    missing = [name for name in ("packaging", "pip") if importlib.util.find_spec(name) is None]
    if missing:
        raise ThiDuaError(f"Thiếu thư viện Python {', '.join(missing)} để tạo gói cài đặt Windows.",
                          "Cài lại theo README, trong môi trường ảo .venv: "
                          "pip install -r requirements.txt -e .   (rồi chạy lại thidua bundle-windows)")


def bundle_windows(out_dir: str | Path, cache: str | Path | None = None, workbook: Path = WORKBOOK,
                   python: str | Path | None = None) -> Bundle:
    """Write ThiDua-<version>-win64.zip into `out_dir`: everything the office PC needs except CPython itself,
    which cai-dat.bat downloads; with `python` (a CPython archive for Windows), that too: no Internet needed."""
    start = time.monotonic()
    _need_tools()
    cache = Path(cache or os.environ.get("THIDUA_BUNDLE_CACHE") or DEFAULT_CACHE)
    if not Path(workbook).exists():
        raise ThiDuaError(f"Không thấy sổ làm việc {workbook}.", "Chạy: thidua build-workbook")
    archive = python_archive(python) if python else None
    with tempfile.TemporaryDirectory(prefix="thidua-bundle-") as tmp:
        own = package_wheel(Path(tmp))
        deps = dependency_wheels(cache)
        wheels = sorted([own, *deps], key=lambda p: p.name.lower())
        lines = [f"# {bundle_name()}: every wheel cai-dat.bat installs (uv pip install --offline --no-index)"]
        lines += [_pin(p) for p in wheels]
        target = Path(out_dir) / bundle_name(offline=archive is not None)
        with atomic_path(target) as part, zipfile.ZipFile(part, "w") as zf:
            _add(zf, "cai-dat.bat", SETUP_SCRIPT.read_bytes())
            _add(zf, Path(workbook).name, Path(workbook).read_bytes())
            _add(zf, f"{SUPPORT_DIR}/uv.exe", uv_exe(cache))
            _add(zf, f"{SUPPORT_DIR}/wheels/{LOCK_NAME}", ("\r\n".join(lines) + "\r\n").encode("ascii"))
            for wheel in wheels:
                _add(zf, f"{SUPPORT_DIR}/wheels/{wheel.name}", wheel.read_bytes())
            if archive:
                _add(zf, f"{PYTHON_DIR}/{PYTHON_NOTE}", archive.note().encode("ascii"))
                _add(zf, f"{PYTHON_DIR}/{archive.path.name}", archive.path.read_bytes())
    return Bundle(target, tuple(w.name for w in wheels), time.monotonic() - start)


def _pin(wheel: Path) -> str:
    from packaging.utils import parse_wheel_filename
    name, version, _, _ = parse_wheel_filename(wheel.name)
    return f"{name}=={version}"
