"""thidua bundle-windows: a real bundle (PyPI once, then the download cache) whose wheels resolve offline."""
from __future__ import annotations

import os
import re
import shlex
import shutil
import struct
import subprocess
from pathlib import Path
import sys
import zipfile

import pytest
import uv

from conftest import ROOT
from thidua import __version__, cli
from thidua.errors import ThiDuaError
from thidua.workbook import bundle


@pytest.fixture(scope="module")
def real_bundle(tmp_path_factory):
    """One real bundle through the CLI. Needs PyPI the first time; later runs read the download cache
    (~/.cache/thidua-bundle, or $THIDUA_BUNDLE_CACHE)."""
    out = tmp_path_factory.mktemp("bundle")
    assert cli.main(["bundle-windows", "--out", str(out)]) == 0
    path = out / bundle.bundle_name()
    unpacked = out / "unpacked"
    with zipfile.ZipFile(path) as zf:
        zf.extractall(unpacked)
    return path, unpacked


def _lock(unpacked) -> list[str]:
    text = (unpacked / bundle.SUPPORT_DIR / "wheels" / bundle.LOCK_NAME).read_text(encoding="ascii")
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def test_real_bundle_holds_workbook_script_uv_and_a_wheel_for_every_pin(real_bundle):
    path, unpacked = real_bundle
    assert path.name == f"ThiDua-{__version__}-win64.zip"
    assert (unpacked / "ThiDua2019.xlsm").read_bytes() == (ROOT / "workbook" / "ThiDua2019.xlsm").read_bytes()
    assert (unpacked / "cai-dat.bat").read_bytes() == (ROOT / "workbook" / "cai-dat.bat").read_bytes()
    exe = (unpacked / bundle.SUPPORT_DIR / "uv.exe").read_bytes()
    pe = struct.unpack("<I", exe[60:64])[0]
    assert exe[:2] == b"MZ" and exe[pe:pe + 4] == b"PE\0\0" and struct.unpack("<H", exe[pe + 4:pe + 6])[0] == 0x8664
    wheels = sorted(p.name for p in (unpacked / bundle.SUPPORT_DIR / "wheels").glob("*.whl"))
    pins = _lock(unpacked)
    assert len(wheels) == len(pins) and f"thidua=={__version__}" in pins
    for req in bundle.windows_requirements():                         # every pin of requirements.txt, exactly
        assert f"{req.name.lower()}{req.specifier}".replace("_", "-") in [p.lower() for p in pins], req
    # pip on Linux skips `pywin32; platform_system == "Windows"` (xlwings) and colorama (tqdm): they are here
    assert any(w.startswith("pywin32-") and w.endswith("-cp312-cp312-win_amd64.whl") for w in wheels)
    assert any(w.startswith("colorama-") for w in wheels)
    with zipfile.ZipFile(unpacked / bundle.SUPPORT_DIR / "wheels" / f"thidua-{__version__}-py3-none-any.whl") as zf:
        names = zf.namelist()
        dates = {info.date_time[0] for info in zf.infolist()}
    assert "thidua/excel.py" in names and "thidua/data/plan2019.toml" in names
    assert dates == {1980}                              # SOURCE_DATE_EPOCH: the same source, the same bytes
    with zipfile.ZipFile(path) as zf:
        assert {info.date_time for info in zf.infolist()} == {bundle.ZIP_DATE}


def _host_only_wheels(wheels, dest) -> set[str]:
    """Dependencies whose markers hold on this (Linux, CPython 3.11) machine but not on Windows/CPython 3.12,
    downloaded into `dest`: pip evaluates markers for the machine it runs on even with --python-version, so its
    dry run asks for them (e.g. backports.tarfile; python_version < "3.12"), though the office PC never does."""
    from packaging.utils import canonicalize_name
    have = {canonicalize_name(w.name.split("-")[0]) for w in wheels.glob("*.whl")}
    extra = {f"{r.name}{r.specifier}" for w in wheels.glob("*.whl") for r in bundle._requires(w)
             if r.marker is not None and r.marker.evaluate() and not r.marker.evaluate(bundle.WINDOWS_MARKERS)
             and canonicalize_name(r.name) not in have}
    if extra:
        subprocess.run([sys.executable, "-m", "pip", "download", "--only-binary=:all:", "-d", str(dest),
                        *sorted(extra)], check=True, capture_output=True)     # with their own dependencies
    return {canonicalize_name(w.name.split("-")[0]) for w in Path(dest).glob("*.whl")} - have


def test_real_bundle_wheels_resolve_offline_with_pip_for_windows_cp312(real_bundle, tmp_path):
    _, unpacked = real_bundle
    wheels = unpacked / bundle.SUPPORT_DIR / "wheels"
    host_only = _host_only_wheels(wheels, tmp_path / "host-only")
    run = subprocess.run([sys.executable, "-m", "pip", "--isolated", "install", "--dry-run", "--no-index",
                          "--find-links", str(wheels), "--find-links", str(tmp_path / "host-only"),
                          "--platform", "win_amd64", "--python-version", "3.12",
                          "--implementation", "cp", "--abi", "cp312", "--only-binary=:all:",
                          "--target", str(tmp_path / "t"), "-r", str(wheels / bundle.LOCK_NAME)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    would = re.search(r"^Would install (.*)$", run.stdout, re.M).group(1).split()
    from packaging.utils import canonicalize_name
    names = {canonicalize_name(w.rsplit("-", 1)[0]) for w in would}
    locked = {canonicalize_name(line.split("==")[0]) for line in _lock(unpacked)}
    assert locked <= names and names - locked <= host_only


def test_real_bundle_installs_offline_with_the_scripts_own_uv_command(real_bundle, tmp_path):
    """The `uv pip install` line of cai-dat.bat, as written, resolved by uv for 64-bit Windows / CPython 3.12
    (uv evaluates markers for the target: a missing pywin32 would fail here)."""
    _, unpacked = real_bundle
    script = (unpacked / "cai-dat.bat").read_text(encoding="utf-8")
    line = re.search(r'^call "%UV%" pip install (.*?) >> "%LOG%"', script, re.M).group(1)
    line = line.replace('--python "%VENV%\\Scripts\\python.exe" ', "").replace("%WHEELS%", bundle.SUPPORT_DIR + "/wheels")
    args = [a.replace("\\", "/") for a in shlex.split(line)]
    assert {"--offline", "--no-index", "--no-build"} <= set(args)
    run = subprocess.run([uv.find_uv_bin(), "pip", "install", "--dry-run", *args, "--python-platform",
                          "x86_64-pc-windows-msvc", "--python-version", "3.12", "--target", str(tmp_path / "t"),
                          "--python", sys.executable, "--cache-dir", str(tmp_path / "uv-cache")],
                         cwd=unpacked, capture_output=True, text=True, env=dict(os.environ, UV_NO_CONFIG="1"))
    assert run.returncode == 0, run.stderr
    assert f"+ thidua=={__version__}" in run.stderr and "+ pywin32==" in run.stderr


def test_a_folder_without_a_windows_only_dependency_is_refused(real_bundle, tmp_path):
    _, unpacked = real_bundle
    for wheel in (unpacked / bundle.SUPPORT_DIR / "wheels").glob("*.whl"):
        if not wheel.name.startswith("pywin32-"):
            shutil.copy2(wheel, tmp_path / wheel.name)
    assert len(bundle.resolve_offline(bundle.windows_requirements(), unpacked / bundle.SUPPORT_DIR / "wheels")) > 10
    with pytest.raises(ThiDuaError, match="pywin32"):
        bundle.resolve_offline(bundle.windows_requirements(), tmp_path)


def test_windows_markers_keep_windows_pins_only(tmp_path):
    req = tmp_path / "requirements.txt"
    req.write_text('a==1\nb==2 ; platform_system == "Windows"\nc==3 ; sys_platform == "darwin"\n# x\n')
    assert [str(r) for r in bundle.windows_requirements(req)] == ["a==1", 'b==2; platform_system == "Windows"']


def test_without_the_package_index_the_cli_says_what_to_do(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path))
    assert cli.main(["bundle-windows", "--out", str(tmp_path / "out"), "--cache", str(tmp_path / "cache")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Lỗi: Không ") and "PyPI" in err and "Traceback" not in err
    assert not (tmp_path / "out" / bundle.bundle_name()).exists()


def _cpython(folder: Path, name: str) -> Path:
    """A file shaped as python-build-standalone's install_only archive (see test_setup_windows.fake_cpython)."""
    from test_setup_windows import fake_cpython
    made = fake_cpython(folder)
    return made.rename(folder / name) if made.name != name else made


def test_a_bundle_with_python_archive_carries_it_and_the_note_cai_dat_reads(tmp_path, capsys):
    archive = _cpython(tmp_path, "cpython-3.12.16+20261110-x86_64-pc-windows-msvc-install_only.tar.gz")
    assert cli.main(["bundle-windows", "--out", str(tmp_path / "out"), "--python-archive", str(archive)]) == 0
    assert "không cần Internet" in capsys.readouterr().out
    path = tmp_path / "out" / bundle.bundle_name(offline=True)
    assert path.name == f"ThiDua-{__version__}-win64-kem-python.zip"
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        note = zf.read(f"{bundle.PYTHON_DIR}/{bundle.PYTHON_NOTE}").decode("ascii")
        carried = zf.read(f"{bundle.PYTHON_DIR}/{archive.name}")
        longest = max(names, key=len)
    assert carried == archive.read_bytes()
    values = dict(line.split("=", 1) for line in note.split("\r\n") if line)
    import hashlib
    assert values == {"MAJOR": "3", "MINOR": "12", "PATCH": "16", "BUILD": "20261110", "FILE": archive.name,
                      "SHA256": hashlib.sha256(carried).hexdigest()}
    # cai-dat.bat reads the keys it uses from this note
    script = (ROOT / "workbook" / "cai-dat.bat").read_text(encoding="utf-8")
    for key in values:
        assert f"%OFF_{key}%" in script, key
    # the longest path inside the bundle still fits under Windows' 260 characters below the folder limit
    limit = int(re.search(r'^set "MAXHERE=(\d+)"', script, re.M).group(1))
    assert limit + 1 + len(longest) < 260, longest


@pytest.mark.parametrize("name, says", [
    ("cpython-3.11.9+20240726-x86_64-pc-windows-msvc-install_only.tar.gz", "Python 3.11"),
    ("cpython-3.12.16+20261110-aarch64-pc-windows-msvc-install_only.tar.gz", "không phải một bản CPython"),
    ("python-3.12.10-amd64.exe", "không phải một bản CPython"),
])
def test_a_wrong_python_archive_is_refused_before_anything_is_built(tmp_path, capsys, name, says):
    archive = _cpython(tmp_path, name)
    assert cli.main(["bundle-windows", "--out", str(tmp_path / "out"), "--python-archive", str(archive)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Lỗi: ") and says in err and "install_only" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_an_archive_without_python_exe_is_refused(tmp_path):
    import tarfile
    path = tmp_path / "cpython-3.12.16+20261110-x86_64-pc-windows-msvc-install_only.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        tar.addfile(tarfile.TarInfo("python/README"))
    with pytest.raises(ThiDuaError, match="python/python.exe"):
        bundle.python_archive(path)
    path.write_bytes(b"not a tar file")
    with pytest.raises(ThiDuaError, match="Không đọc được"):
        bundle.python_archive(path)


def test_without_packaging_bundle_windows_says_what_to_install(tmp_path, monkeypatch, capsys):
    """An environment installed without the runtime requirements: a Vietnamese message, not ModuleNotFoundError."""
    import importlib.util
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "packaging" else real(name, *a))
    assert cli.main(["bundle-windows", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "packaging" in err and "pip install -r requirements.txt -e ." in err and "Traceback" not in err
