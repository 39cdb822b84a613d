"""workbook/cai-dat.bat run by Wine's cmd from folders named as offices name them, uv replaced by a recorder."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import unicodedata
from pathlib import Path

import pytest

from conftest import ROOT
from thidua import __version__
from thidua.workbook import bundle

SCRIPT = ROOT / "workbook" / "cai-dat.bat"
# Spaces, "(1)", "&", "%", "!" and Vietnamese letters, under a "Tài liệu" folder.
FOLDER = Path("Tài liệu") / "ThiDua (1) & 2019 100% !mới!"
# uv's stand-in: records its arguments, its working folder and the UV_* variables; "venv" makes the
# interpreter files cai-dat.bat checks for; THIDUA_UV_FAIL makes "pip install" fail.
STAND_IN = r"""@echo off
setlocal DisableDelayedExpansion
>> "%THIDUA_UV_RECORD%" echo.%*
cd >> "%THIDUA_UV_RECORD%.cwd"
>> "%THIDUA_UV_RECORD%.env" set UV_
if /i "%~1"=="venv" mkdir "%~2\Scripts"
if /i "%~1"=="venv" type nul > "%~2\Scripts\pythonw.exe"
if /i "%~1"=="pip" if defined THIDUA_UV_FAIL exit /b 3
exit /b 0
"""

# PowerShell's stand-in (Wine's own powershell.exe is a stub that does nothing): records the command and
# the folder it runs in; THIDUA_PS_FAIL makes it fail as a locked-down PC's would.
POWERSHELL = r"""@echo off
>> "%THIDUA_UV_RECORD%.ps" echo.%*
cd >> "%THIDUA_UV_RECORD%.ps"
if defined THIDUA_PS_FAIL exit /b 1
exit /b 0
"""


def _win(path: Path) -> str:
    """The Windows name Wine gives a Unix path (drive Z: is /)."""
    return "Z:" + str(path).replace("/", "\\")


@pytest.fixture(scope="session")
def wine(tmp_path_factory):
    """A Wine prefix of its own for this test session (created once: the slow part, several seconds)."""
    exe = shutil.which("wine")
    assert exe, "Debian's wine is needed: apt-get install -y wine"
    prefix = tmp_path_factory.mktemp("wineprefix")
    env = dict(os.environ, WINEPREFIX=str(prefix), WINEDEBUG="-all", WINEDLLOVERRIDES="mscoree=;mshtml=")
    subprocess.run([exe, "cmd", "/c", "exit", "0"], env=env, capture_output=True, timeout=300, check=True)
    stub = prefix / "drive_c" / "stub" / "Microsoft" / "WindowsApps"
    stub.mkdir(parents=True)
    (stub / "python.exe").write_bytes(b"")          # what a stock Windows 10/11 has on PATH
    tools = prefix / "drive_c" / "stub" / "bin"
    tools.mkdir()
    (tools / "powershell.cmd").write_bytes(POWERSHELL.replace("\n", "\r\n").encode("ascii"))
    return exe, env, prefix


def _folder(root: Path, complete: bool = True) -> Path:
    here = root / FOLDER
    here.mkdir(parents=True)
    shutil.copy2(SCRIPT, here / "cai-dat.bat")
    if complete:
        shutil.copy2(ROOT / "workbook" / "ThiDua2019.xlsm", here)
        wheels = here / bundle.SUPPORT_DIR / "wheels"
        wheels.mkdir(parents=True)
        (wheels / f"thidua-{__version__}-py3-none-any.whl").write_bytes(b"")
        (wheels / bundle.LOCK_NAME).write_text(f"thidua=={__version__}\r\n")
        (here / bundle.SUPPORT_DIR / "uv.cmd").write_bytes(STAND_IN.replace("\n", "\r\n").encode("ascii"))
    return here


def _run(wine, here: Path, before: str = "", fail: bool = False, ps_fail: bool = False):
    """Run cai-dat.bat from `here` through a wrapper that first sets `before` (cmd lines)."""
    exe, env, _ = wine
    record = here.parent / "uv-args.txt"
    env = dict(env, THIDUA_UV_RECORD=_win(record))
    for name, on in (("THIDUA_UV_FAIL", fail), ("THIDUA_PS_FAIL", ps_fail)):
        env.pop(name, None)
        if on:
            env[name] = "1"
    wrapper = here / "lan-chay.bat"
    lines = ["@echo off", r'set "PATH=C:\stub\bin;C:\stub\Microsoft\WindowsApps;%PATH%"', before, "call cai-dat.bat",
             "exit /b %errorlevel%"]
    wrapper.write_bytes("\r\n".join(lines).encode("utf-8") + b"\r\n")
    run = subprocess.run([exe, "cmd", "/c", "lan-chay.bat"], cwd=here, env=env, stdin=subprocess.DEVNULL,
                         capture_output=True, timeout=120)
    out = (run.stdout + run.stderr).decode("latin-1")
    calls = [c.rstrip() for c in record.read_text(encoding="latin-1").splitlines()] if record.exists() else []
    return run.returncode, out, calls


def _conf(path: Path) -> dict[str, str]:
    """xlwings.conf as xlwings.bas GetConfigFromFile reads it: one "key","value" pair a line."""
    pairs = [re.fullmatch(r'"([^"]+)","([^"]*)"', line) for line in path.read_text(encoding="ascii").splitlines()]
    assert all(pairs), path.read_text()
    return {m.group(1): m.group(2) for m in pairs}


def _unix(prefix: Path, win_path: str) -> Path:
    assert win_path[:3].upper() == "C:\\", win_path
    return prefix / "drive_c" / Path(*win_path[3:].split("\\"))


def _pyver() -> str:
    return re.search(r'^set "PYVER=([\d.]+)"', SCRIPT.read_text(encoding="utf-8"), re.M).group(1)


def test_setup_runs_from_a_folder_named_with_spaces_parentheses_ampersand_percent_bang_and_vietnamese(
        wine, tmp_path):
    _, _, prefix = wine
    here = _folder(tmp_path)
    code, out, calls = _run(wine, here)
    assert code == 0, out
    assert "XONG" in out
    conf = _conf(here / "xlwings.conf")
    assert set(conf) == {"Interpreter_Win", "TEMP DIR"}            # the package is installed: no PYTHONPATH
    interpreter, temp = conf["Interpreter_Win"], conf["TEMP DIR"]
    envroot = interpreter.split("\\ThiDua\\")[0] + "\\ThiDua"
    assert re.fullmatch(r"C:\\users\\[^\\]+\\AppData\\Local\\ThiDua", envroot, re.I), interpreter
    venv = f"{envroot}\\{__version__}\\venv"
    assert interpreter == venv + "\\Scripts\\pythonw.exe" and temp == envroot + "\\tmp"
    assert interpreter.isascii() and _unix(prefix, interpreter).exists() and _unix(prefix, temp).is_dir()
    pyver = _pyver()
    assert calls == [
        f"python install {pyver} --no-bin --no-registry",
        f'venv "{venv}" --clear --managed-python --python {pyver}',
        f'pip install --python "{venv}\\Scripts\\python.exe" --offline --no-index --no-build '
        f'--find-links "goi-cai-dat\\wheels" -r "goi-cai-dat\\wheels\\{bundle.LOCK_NAME}"',
        f'run --no-project --offline --python "{venv}\\Scripts\\python.exe" -- python -c '
        "\"import thidua.excel, xlwings; print('thidua', thidua.__version__, 'xlwings', xlwings.__version__)\"",
    ]
    # uv ran in the bundle's folder (its relative paths name the bundled wheels), with its own folders
    cwd = (here.parent / "uv-args.txt.cwd").read_text(encoding="latin-1").splitlines()
    assert len(cwd) == 4 and all(line.endswith("ThiDua (1) & 2019 100% !m?i!") or "ThiDua (1) & 2019 100%" in line
                                 for line in cwd), cwd
    env = (here.parent / "uv-args.txt.env").read_text(encoding="latin-1")
    for line in (f"UV_PYTHON_INSTALL_DIR={envroot}\\python", f"UV_CACHE_DIR={envroot}\\uv-cache",
                 "UV_NO_CONFIG=1", "UV_PYTHON_DOWNLOADS=manual", "UV_SYSTEM_CERTS=1"):
        assert line in env.splitlines()
    log = (here / "cai-dat.log").read_bytes().decode("latin-1")
    assert "XONG" in log and "WindowsApps" in log            # the Store stub on PATH is explained
    assert "C:\\ThiDua" in log                                  # the folder's letters: advice to use a plain path
    assert "OneDrive" not in log and "Unblock" not in log
    # the Mark of the Web: every file of the bundle's folder goes through Unblock-File
    ps = (here.parent / "uv-args.txt.ps").read_text(encoding="latin-1").splitlines()
    assert ps[0].rstrip() == '-NoProfile -ExecutionPolicy Bypass -Command "Get-ChildItem -LiteralPath . -Recurse | Unblock-File"'
    assert "ThiDua (1) & 2019 100% !" in ps[1]
    # the folder is not plain ASCII: xlwings may not read the file beside the workbook, so the user's too
    assert _conf(prefix / "drive_c" / "users" / envroot.split("\\")[2] / ".xlwings" / "xlwings.conf") == conf


def test_setup_with_a_vietnamese_user_name_puts_python_under_public(wine, tmp_path):
    here = _folder(tmp_path)
    code, out, calls = _run(wine, here, r'set "LOCALAPPDATA=C:\users\Nguyễn Văn A\AppData\Local"')
    assert code == 0, out
    conf = _conf(here / "xlwings.conf")
    assert conf["Interpreter_Win"].lower() == f"c:\\users\\public\\thidua\\{__version__}\\venv\\scripts\\pythonw.exe"
    assert conf["TEMP DIR"].lower() == "c:\\users\\public\\thidua\\tmp"
    assert len(calls) == 4


def test_setup_warns_about_a_onedrive_folder_and_a_failed_unblock(wine, tmp_path):
    here = _folder(tmp_path / "OneDrive - So Noi vu")
    code, out, _ = _run(wine, here, ps_fail=True)
    assert code == 0 and "OneDrive/SharePoint" in out and "XONG" in out
    log = (here / "cai-dat.log").read_bytes().decode("latin-1")
    assert "OneDrive/SharePoint" in log
    assert "Properties" in log and "Unblock" in log          # how to unblock the workbook by hand


def test_a_failing_step_ends_with_loi_and_names_the_log(wine, tmp_path):
    here = _folder(tmp_path)
    code, out, calls = _run(wine, here, fail=True)
    assert code == 1
    assert [c.split()[0] for c in calls] == ["python", "venv", "pip"]     # stopped at the failing step
    last = [line for line in out.splitlines() if "cai-dat.log" in line][-1]
    assert "ThiDua (1) & 2019 100% !" in last and "XONG" not in out
    assert not (here / "xlwings.conf").exists()
    assert (here / "cai-dat.log").exists()


def test_setup_refuses_32_bit_windows(wine, tmp_path):
    here = _folder(tmp_path)
    code, out, calls = _run(wine, here, 'set "PROCESSOR_ARCHITECTURE=x86"\r\nset "PROCESSOR_ARCHITEW6432="')
    assert code == 1 and "32-bit" in out and calls == []


def test_setup_refuses_windows_on_arm(wine, tmp_path):
    here = _folder(tmp_path)
    code, out, calls = _run(wine, here, 'set "PROCESSOR_ARCHITECTURE=ARM64"\r\nset "PROCESSOR_ARCHITEW6432="')
    assert code == 1 and "ARM64" in out and "(x64)" in out and calls == []


def test_setup_from_inside_the_zip_asks_to_unpack_first(wine, tmp_path):
    here = _folder(tmp_path, complete=False)
    code, out, calls = _run(wine, here)
    assert code == 1 and "Extract All" in out and calls == []


def test_the_script_is_utf8_crlf_with_delayed_expansion_off_and_no_blocks():
    raw = SCRIPT.read_bytes()
    text = raw.decode("utf-8")
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"") and not raw.startswith(b"\xef\xbb\xbf")
    assert text == unicodedata.normalize("NFC", text)
    head = text[:text.index("chcp 65001")]
    assert head.isascii()                                     # read before the console switches to UTF-8
    assert "setlocal EnableExtensions DisableDelayedExpansion" in head
    code = [line for line in text.splitlines() if not line.lower().startswith("rem ")]
    assert not [line for line in code if re.search(r"\)\s*else|\(\s*$", line)]   # no multi-line if/for blocks
    assert "«XONG" not in text and "XONG." in text and "LỖI:" in text
    assert _pyver().startswith(".".join(map(str, bundle.PYTHON_VERSION)) + ".")
