"""workbook/cai-dat.bat run by Wine's cmd from folders and user names as offices have them: uv replaced by a
recorder, or the real uv.exe of the bundle (it runs under Wine once a small bcryptprimitives.dll is there)."""
from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import tarfile
import unicodedata
from pathlib import Path

import pytest

from conftest import ROOT
from thidua import __version__
from thidua.workbook import bundle

SCRIPT = ROOT / "workbook" / "cai-dat.bat"
SHIM = ROOT / "tests" / "wine" / "bcryptprimitives.c"
# Spaces, "(1)", "&", "%", "!" and Vietnamese letters, under a "Tài liệu" folder.
FOLDER = Path("Tài liệu") / "ThiDua (1) & 2019 100% !mới!"
VIET_USER = "Nguyễn Văn Ánh"
# uv's stand-in: records its arguments, its working folder and the UV_* variables; "venv" makes the
# interpreter files cai-dat.bat checks for; THIDUA_UV_FAIL makes "pip install" fail; THIDUA_UV_NO_NET makes
# "python install" fail as without Internet, THIDUA_UV_FIND is the Python 3.12 "python find" finds (none
# when unset); with THIDUA_REAL_UV the "python" commands go to the real uv.exe.
STAND_IN = r"""@echo off
setlocal DisableDelayedExpansion
>> "%THIDUA_UV_RECORD%" echo.%*
cd >> "%THIDUA_UV_RECORD%.cwd"
>> "%THIDUA_UV_RECORD%.env" set UV_
if /i "%~1"=="python" if defined THIDUA_REAL_UV goto :real
if /i "%~1"=="python" if /i "%~2"=="install" if defined THIDUA_UV_NO_NET exit /b 1
if /i "%~1"=="python" if /i "%~2"=="find" if not defined THIDUA_UV_FIND exit /b 2
if /i "%~1"=="python" if /i "%~2"=="find" echo.%THIDUA_UV_FIND%
if /i "%~1"=="venv" mkdir "%~2\Scripts"
if /i "%~1"=="venv" type nul > "%~2\Scripts\pythonw.exe"
if /i "%~1"=="pip" if defined THIDUA_UV_FAIL exit /b 3
exit /b 0
:real
"%THIDUA_REAL_UV%" %*
"""

# PowerShell's stand-in (Wine's own powershell.exe is a stub that does nothing): records the command and
# the folder it runs in; THIDUA_PS_FAIL makes it fail as a locked-down PC's would.
POWERSHELL = r"""@echo off
>> "%THIDUA_UV_RECORD%.ps" echo.%*
cd >> "%THIDUA_UV_RECORD%.ps"
if defined THIDUA_PS_FAIL exit /b 1
exit /b 0
"""
FLAGS = ("THIDUA_UV_FAIL", "THIDUA_PS_FAIL", "THIDUA_UV_NO_NET", "THIDUA_UV_FIND", "THIDUA_REAL_UV")


def _win(path: Path) -> str:
    """The Windows name Wine gives a Unix path (drive Z: is /)."""
    return "Z:" + str(path).replace("/", "\\")


def _need(what: str, ok: bool) -> None:
    if not ok:
        if os.environ.get("CI"):
            pytest.fail(what)
        pytest.skip(what)


@pytest.fixture(scope="session")
def wine(tmp_path_factory):
    """A Wine prefix of its own for this test session (created once: the slow part, several seconds)."""
    exe = shutil.which("wine")
    _need("Debian's wine is needed: apt-get install -y wine", bool(exe))
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


@pytest.fixture(scope="session")
def real_uv(wine, tmp_path_factory):
    """The bundle's own uv.exe (uv's win_amd64 wheel), runnable under Wine: Wine 8 lacks bcryptprimitives.dll
    (ProcessPrng), which Rust programs import; tests/wine/bcryptprimitives.c is built into the prefix's
    system32 with Debian's MinGW compiler. Returns uv.exe's path on the Unix side."""
    _, _, prefix = wine
    gcc = shutil.which("x86_64-w64-mingw32-gcc")
    _need("MinGW is needed to run uv.exe under Wine: apt-get install -y gcc-mingw-w64-x86-64", bool(gcc))
    dll = prefix / "drive_c" / "windows" / "system32" / "bcryptprimitives.dll"
    subprocess.run([gcc, "-O2", "-shared", "-s", "-o", str(dll), str(SHIM), "-ladvapi32"], check=True, timeout=120)
    uv = prefix / "drive_c" / "stub" / "bin" / "uv.exe"
    uv.write_bytes(bundle.uv_exe(Path(os.environ.get("THIDUA_BUNDLE_CACHE") or bundle.DEFAULT_CACHE)))
    exe, env, _ = wine
    run = subprocess.run([exe, str(uv), "--version"], env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and run.stdout.startswith(f"uv {bundle.UV_VERSION} "), run.stdout + run.stderr
    return uv


def _folder(root: Path, complete: bool = True, folder: Path = FOLDER) -> Path:
    here = root / folder
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


def _user(wine, name: str) -> str:
    """A user profile of its own in the prefix, C:\\users\\<name> (made here; _run makes it the current one)."""
    _, _, prefix = wine
    home = prefix / "drive_c" / "users" / name
    (home / "AppData" / "Local").mkdir(parents=True, exist_ok=True)
    return name


def _home(wine, name: str) -> Path:
    return wine[2] / "drive_c" / "users" / name


def _run(wine, here: Path, user: str | None = None, before: str = "", flags: dict | None = None,
         start: str | None = None):
    """Run cai-dat.bat from `here` through a wrapper that first sets `before` (cmd lines); `user`: the user
    profile (its name reaches cmd through the environment: Wine's cmd reads a batch file's own letters as
    code page 437); `start`: the folder the wrapper runs in, calling cai-dat.bat by its full name (as Windows
    does for «Run as administrator»)."""
    exe, env, _ = wine
    record = here.parent / "uv-args.txt"
    env = dict(env, THIDUA_UV_RECORD=_win(record))
    for name in FLAGS:
        env.pop(name, None)
    env.update(flags or {})
    if user:
        env["THIDUA_TEST_USER"] = user
        before = (r'set "USERPROFILE=C:\users\%THIDUA_TEST_USER%"' + "\r\n"
                  + r'set "LOCALAPPDATA=C:\users\%THIDUA_TEST_USER%\AppData\Local"' + "\r\n" + before)
    wrapper = here.parent / "lan-chay.bat"
    full = _win(here).replace("%", "%%")                       # a literal "%" in a batch file
    call = "call cai-dat.bat" if start is None else f'cd /d "{start}"\r\ncall "{full}\\cai-dat.bat"'
    lines = ["@echo off", r'set "PATH=C:\stub\bin;C:\stub\Microsoft\WindowsApps;%PATH%"', before,
             r'if exist "%USERPROFILE%\.xlwings\xlwings.conf" echo.USERCONF-SEEN', call, "exit /b %errorlevel%"]
    wrapper.write_bytes("\r\n".join(lines).encode("utf-8") + b"\r\n")
    (here / "cai-dat.log").unlink(missing_ok=True)
    run = subprocess.run([exe, "cmd", "/c", _win(wrapper)], cwd=here, env=env, stdin=subprocess.DEVNULL,
                         capture_output=True, timeout=300)
    # Wine's console re-encodes the UTF-8 messages (mojibake: ASCII parts only are read there); the log
    # beside the workbook has the same lines byte for byte, so the Vietnamese text is checked in it.
    out = (run.stdout + run.stderr).decode("latin-1")
    if (here / "cai-dat.log").exists():
        out += "\n--- cai-dat.log ---\n" + _log(here)
    calls = [c.rstrip() for c in record.read_text(encoding="latin-1").splitlines()] if record.exists() else []
    record.unlink(missing_ok=True)
    return run.returncode, out, calls


def _conf(path: Path) -> dict[str, str]:
    """xlwings.conf as xlwings.bas GetConfigFromFile reads it: "key","value" lines, the first of a key wins."""
    found: dict[str, str] = {}
    for line in path.read_text(encoding="ascii").splitlines():
        if line.strip():
            m = re.fullmatch(r'"([^"]+)","([^"]*)"', line)
            assert m, path.read_text()
            found.setdefault(m.group(1).lower(), m.group(2))
    return found


def _unix(prefix: Path, win_path: str) -> Path:
    assert win_path[:3].upper() == "C:\\", win_path
    return prefix / "drive_c" / Path(*win_path[3:].split("\\"))


def _pyver() -> str:
    return re.search(r'^set "PYVER=([\d.]+)"', SCRIPT.read_text(encoding="utf-8"), re.M).group(1)


def _log(here: Path) -> str:
    return (here / "cai-dat.log").read_bytes().decode("latin-1")      # as Wine wrote it (see shown)


_SHOWN: dict[str, str] = {}


def shown(wine, *texts: str) -> list[str]:
    """How Wine's cmd shows each text of cai-dat.bat (UTF-8 read as code page 437, written out as 1252, best
    fit), found by having it echo them: the text's Vietnamese letters are compared in that form."""
    todo = [t for t in texts if t not in _SHOWN]
    if todo:
        exe, env, prefix = wine
        bat = prefix / "drive_c" / "stub" / "hien-thi.bat"
        bat.write_bytes(b"@echo off\r\n" + b"".join(b"echo.[[" + t.encode("utf-8") + b"]]\r\n" for t in todo))
        run = subprocess.run([exe, "cmd", "/c", r"C:\stub\hien-thi.bat"], env=env, capture_output=True, timeout=120)
        lines = re.findall(r"\[\[(.*?)\]\]", run.stdout.decode("latin-1"))
        assert len(lines) == len(todo), run.stdout
        _SHOWN.update(zip(todo, lines))
    return [_SHOWN[t] for t in texts]


def said(wine, out: str, *texts: str) -> bool:
    return all(t in out for t in shown(wine, *texts))


def _skipped_before_done(wine, out: str, *needles: str) -> None:
    """Every skipped step is listed under «CÁC BƯỚC ĐÃ BỎ QUA» and that list comes before the last line."""
    head, done = shown(wine, "CÁC BƯỚC ĐÃ BỎ QUA:", "XONG, NHƯNG CÓ BƯỚC BỎ QUA")
    assert head in out and done in out, out
    listed = out.split(head, 1)[1].split(done, 1)[0]
    for needle in shown(wine, *needles):
        assert needle in listed, (needle, listed)


# A user's own xlwings.conf: an interpreter for other workbooks and a licence key (CRLF, last line unended).
USER_CONF = b'"INTERPRETER_WIN","C:\\Python39\\pythonw.exe"\r\n"LICENSE_KEY","noncommercial"\r\n\r\n"SHOW CONSOLE","False"'
USER_CONF_NO_PYTHON = b'"LICENSE_KEY","noncommercial"\r\n"SHOW CONSOLE","False"'


def test_setup_runs_from_a_folder_named_with_spaces_parentheses_ampersand_percent_bang_and_vietnamese(
        wine, tmp_path):
    _, _, prefix = wine
    user = _user(wine, "thu-muc-la")
    home = _home(wine, user)
    here = _folder(tmp_path)
    code, out, calls = _run(wine, here, user)
    assert code == 0, out
    assert said(wine, out, "XONG. Mở ThiDua2019.xlsm") and not said(wine, out, "BỎ QUA")
    conf = _conf(here / "xlwings.conf")
    assert set(conf) == {"thidua_tep", "interpreter_win", "temp dir"}    # the package is installed: no PYTHONPATH
    interpreter, temp = conf["interpreter_win"], conf["temp dir"]
    envroot = r"C:\users\thu-muc-la\AppData\Local\ThiDua"
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
    assert len(cwd) == 4 and all("ThiDua (1) & 2019 100%" in line for line in cwd), cwd
    env = (here.parent / "uv-args.txt.env").read_text(encoding="latin-1")
    for line in (f"UV_PYTHON_INSTALL_DIR={envroot}\\python", f"UV_CACHE_DIR={envroot}\\uv-cache",
                 "UV_NO_CONFIG=1", "UV_PYTHON_DOWNLOADS=manual", "UV_SYSTEM_CERTS=1"):
        assert line in env.splitlines()
    log = _log(here)
    assert "XONG" in log and "WindowsApps" in log            # the Store stub on PATH is explained
    assert "C:\\ThiDua" in log                                  # the folder's letters: advice to use a plain path
    assert "OneDrive" not in log and "Unblock" not in log
    # the Mark of the Web: every file of the bundle's folder goes through Unblock-File
    ps = (here.parent / "uv-args.txt.ps").read_text(encoding="latin-1").splitlines()
    assert ps[0].rstrip() == '-NoProfile -ExecutionPolicy Bypass -Command "Get-ChildItem -LiteralPath . -Recurse | Unblock-File"'
    assert "ThiDua (1) & 2019 100% !" in ps[1]
    # the folder is not plain ASCII: xlwings may not read the file beside the workbook, so the user's too
    # (there was none: it is ThiDua's own, and a second run writes the same bytes)
    user_conf = home / ".xlwings" / "xlwings.conf"
    assert _conf(user_conf) == conf
    first = user_conf.read_bytes(), (here / "xlwings.conf").read_bytes()
    code, out, _ = _run(wine, here, user)
    assert code == 0 and said(wine, out, "XONG. Mở")
    assert (user_conf.read_bytes(), (here / "xlwings.conf").read_bytes()) == first


@pytest.mark.parametrize("folder", [FOLDER, Path("OneDrive - So Noi vu") / "ThiDua"], ids=["letters", "onedrive"])
def test_a_users_own_xlwings_conf_with_an_interpreter_is_never_changed(wine, tmp_path, folder):
    """Run twice: the user's file (their interpreter for other workbooks, their licence) is byte-identical
    after both runs, and the step left undone is listed before «XONG»."""
    user = _user(wine, "co-cau-hinh")
    home = _home(wine, user)
    conf = home / ".xlwings" / "xlwings.conf"
    conf.parent.mkdir(parents=True, exist_ok=True)
    conf.write_bytes(USER_CONF)
    here = _folder(tmp_path, folder=folder)
    for _ in range(2):
        code, out, calls = _run(wine, here, user)
        assert code == 0 and "USERCONF-SEEN" in out and len(calls) == 4, out
        assert conf.read_bytes() == USER_CONF
        _skipped_before_done(wine, out, "không sửa tệp cấu hình xlwings của người dùng", "Interpreter_Win", "C:\\ThiDua")
        assert not list(conf.parent.glob("*truoc*")) and len(list(conf.parent.iterdir())) == 1
    assert _conf(here / "xlwings.conf")["thidua_tep"]             # beside the workbook: ThiDua's own file


def test_our_keys_are_merged_into_a_users_xlwings_conf_without_an_interpreter(wine, tmp_path):
    """No interpreter of the user's own: ThiDua's lines are appended once, the user's bytes kept as they were."""
    user = _user(wine, "chi-co-giay-phep")
    home = _home(wine, user)
    conf = home / ".xlwings" / "xlwings.conf"
    conf.parent.mkdir(parents=True, exist_ok=True)
    conf.write_bytes(USER_CONF_NO_PYTHON)
    here = _folder(tmp_path)
    code, out, _ = _run(wine, here, user)
    assert code == 0 and said(wine, out, "XONG. Mở") and not said(wine, out, "BỎ QUA"), out
    merged = conf.read_bytes()
    assert merged.startswith(USER_CONF_NO_PYTHON + b"\r\n")
    read = _conf(conf)
    assert read["license_key"] == "noncommercial" and read["show console"] == "False"
    assert read["interpreter_win"] == _conf(here / "xlwings.conf")["interpreter_win"]
    assert said(wine, out, "Đã thêm đường dẫn Python của ThiDua vào cuối")
    code, out, _ = _run(wine, here, user)
    assert code == 0 and conf.read_bytes() == merged                 # a second run adds nothing


def test_a_vietnamese_user_name_puts_python_under_public_and_says_the_user_config_was_skipped(wine, tmp_path):
    user = _user(wine, VIET_USER)
    home = _home(wine, user)
    conf = home / ".xlwings" / "xlwings.conf"
    conf.parent.mkdir(parents=True, exist_ok=True)
    conf.write_bytes(USER_CONF_NO_PYTHON)
    here = _folder(tmp_path)
    for _ in range(2):
        code, out, calls = _run(wine, here, user)
        assert code == 0 and "USERCONF-SEEN" in out, out            # the wrapper found the user's file there
        assert conf.read_bytes() == USER_CONF_NO_PYTHON
        _skipped_before_done(wine, out, "không ghi cấu hình xlwings của người dùng", "C:\\ThiDua")
        read = _conf(here / "xlwings.conf")
        assert read["interpreter_win"].lower() == f"c:\\users\\public\\thidua\\{__version__}\\venv\\scripts\\pythonw.exe"
        assert read["temp dir"].lower() == "c:\\users\\public\\thidua\\tmp"
        assert len(calls) == 4


def test_setup_warns_about_a_onedrive_folder_and_lists_a_failed_unblock(wine, tmp_path):
    user = _user(wine, "onedrive")
    here = _folder(tmp_path / "OneDrive - So Noi vu")
    code, out, _ = _run(wine, here, user, flags={"THIDUA_PS_FAIL": "1"})
    assert code == 0 and "OneDrive/SharePoint" in out, out
    _skipped_before_done(wine, out, "Properties", "Unblock")               # how to unblock the workbook by hand
    log = _log(here)
    assert "OneDrive/SharePoint" in log and said(wine, log, "CÁC BƯỚC ĐÃ BỎ QUA")


def test_a_failing_step_ends_with_loi_and_names_the_log(wine, tmp_path):
    user = _user(wine, "buoc-loi")
    here = _folder(tmp_path)
    code, out, calls = _run(wine, here, user, flags={"THIDUA_UV_FAIL": "1"})
    assert code == 1
    assert [c.split()[0] for c in calls] == ["python", "venv", "pip"]     # stopped at the failing step
    last = [line for line in out.splitlines() if "cai-dat.log" in line][-1]
    assert "ThiDua (1) & 2019 100% !" in last and "XONG" not in out
    assert not (here / "xlwings.conf").exists()
    assert (here / "cai-dat.log").exists()


def test_a_failed_pushd_stops_before_anything_is_written(wine, tmp_path):
    """Started from System32 (as «Run as administrator» does) when the folder cannot be entered: Wine's cmd
    loses the "%" of this folder's name in %~dp0, as Windows loses a path over 260 characters."""
    _, _, prefix = wine
    user = _user(wine, "quan-tri")
    here = _folder(tmp_path, folder=Path("Giai nen 100% xong"))
    system32 = prefix / "drive_c" / "windows" / "system32"
    before = set(os.listdir(system32))
    code, out, calls = _run(wine, here, user, start=r"C:\windows\system32")
    assert code == 1 and calls == [], out
    assert said(wine, out, "LỖI: không vào được thư mục chứa cai-dat.bat") and "C:\\ThiDua" in out
    assert "Extract All" not in out and "XONG" not in out          # no blame on an unpacked zip
    assert set(os.listdir(system32)) == before                     # no log, nothing written there


def test_a_folder_path_too_long_stops_before_anything_is_installed(wine, tmp_path):
    user = _user(wine, "duong-dan-dai")
    deep = Path(*["Thu muc luu tru ho so thi dua nam 2019"] * 3)
    here = _folder(tmp_path, folder=deep / "ThiDua")
    assert 160 < len(_win(here)) < 250          # Wine itself starts in no folder of 260 or more
    code, out, calls = _run(wine, here, user)
    assert code == 1 and calls == [], out
    assert said(wine, out, "LỖI: đường dẫn thư mục dài quá 160 ký tự"), (shown(wine, "LỖI: đường dẫn thư mục dài quá 160 ký tự"), out)
    assert "C:\\ThiDua" in out and "XONG" not in out, out
    short = _folder(tmp_path / "x", folder=Path("ThiDua"))
    assert _run(wine, short, user)[0] == 0                          # the same set-up from a short folder


def test_without_internet_an_installed_python_312_is_used(wine, tmp_path):
    user = _user(wine, "co-python")
    here = _folder(tmp_path)
    found = r"C:\Program Files\Python312\python.exe"
    code, out, calls = _run(wine, here, user, flags={"THIDUA_UV_NO_NET": "1", "THIDUA_UV_FIND": found})
    assert code == 0 and "XONG" in out, out
    venv = calls[2].split('"')[1]
    assert calls[:3] == [f"python install {_pyver()} --no-bin --no-registry",
                         "python find 3.12 --no-managed-python",
                         f'venv "{venv}" --clear --no-managed-python --python 3.12'], calls
    assert said(wine, out, f"Dùng Python đã cài trên máy: {found}")


def test_without_internet_the_real_uv_fails_and_the_message_says_what_to_do(wine, real_uv, tmp_path):
    """The bundle's real uv.exe: Wine reaches no network, the PC has no Python 3.12."""
    user = _user(wine, "khong-mang")
    here = _folder(tmp_path)
    shutil.copy2(real_uv, here / bundle.SUPPORT_DIR / "uv.exe")
    # a user's own environment variables (an active venv, conda) do not lead uv astray
    active = {"VIRTUAL_ENV": r"C:\Users\x\.venv", "CONDA_PREFIX": r"C:\Miniconda3", "UV_PYTHON": "3.9"}
    code, out, _ = _run(wine, here, user, flags=active)
    assert code == 1 and "XONG" not in out, out
    message = out.split(shown(wine, "LỖI: không tải được Python")[0], 1)[1]
    for needle in shown(wine, "HTTPS_PROXY", "--python-archive", "Python 3.12 bản 64-bit", "cai-dat.log"):
        assert needle in message, needle
    log = _log(here)
    assert "Failed to download" in log or "error sending request" in log          # uv's own words, kept
    # uv's search for an installed Python 3.12: none here (the Store stub on PATH is no interpreter)
    assert "No interpreter found" in log or "Failed to query Python interpreter" in log, log
    assert not (here / "xlwings.conf").exists()


def fake_cpython(folder: Path, version: str = "3.12.16", build: str = "20261110") -> Path:
    """A file shaped as python-build-standalone's install_only archive for Windows (python/python.exe, Lib/).
    Its python.exe is no interpreter (no Windows CPython can be fetched here): enough for uv's offline install."""
    path = folder / f"cpython-{version}+{build}-x86_64-pc-windows-msvc-install_only.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name, data in (("python/python.exe", b"MZ not an interpreter"), ("python/pythonw.exe", b"MZ"),
                           ("python/Lib/os.py", b"# os\n"), ("python/DLLs/_ssl.pyd", b"MZ")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_a_bundle_with_cpython_installs_it_offline_with_the_real_uv(wine, real_uv, tmp_path):
    """goi-cai-dat/python as `bundle-windows --python-archive` writes it: the real uv.exe installs that archive
    (SHA-256 checked) without any network; the other uv steps are recorded."""
    _, _, prefix = wine
    user = _user(wine, VIET_USER.replace("Ánh", "Bình") + " offline")
    archive = bundle.python_archive(fake_cpython(tmp_path))
    here = _folder(tmp_path)
    python_dir = here / bundle.PYTHON_DIR
    python_dir.mkdir()
    (python_dir / bundle.PYTHON_NOTE).write_text(archive.note(), encoding="ascii", newline="")
    shutil.copy2(archive.path, python_dir)
    code, out, calls = _run(wine, here, user, flags={"THIDUA_REAL_UV": r"C:\stub\bin\uv.exe"})
    assert code == 0 and "XONG" in out, out
    assert said(wine, out, "[1/5] Cài Python 3.12.16 có sẵn trong gói (không cần Internet)")
    assert calls[0] == "python install 3.12.16 --no-bin --no-registry"
    assert "Installed Python 3.12.16" in _log(here)
    installed = _unix(prefix, r"C:\users\Public\ThiDua\python\cpython-3.12.16-windows-x86_64-none")
    assert (installed / "python.exe").read_bytes() == b"MZ not an interpreter"
    assert (installed / "Lib" / "os.py").exists()
    # a damaged archive (its SHA-256 differs from the bundle's note) is refused, not installed
    shutil.rmtree(installed.parent)
    with open(python_dir / archive.path.name, "r+b") as fh:
        fh.seek(-8, 2)
        fh.write(b"damaged!")
    code, out, _ = _run(wine, here, user, flags={"THIDUA_REAL_UV": r"C:\stub\bin\uv.exe"})
    assert code == 1 and said(wine, out, "LỖI: cài đặt chưa xong") and "XONG" not in out
    assert "Hash mismatch" in _log(here) or "hash" in _log(here).lower()
    assert not installed.exists()


def test_setup_refuses_32_bit_windows(wine, tmp_path):
    here = _folder(tmp_path)
    code, out, calls = _run(wine, here, before='set "PROCESSOR_ARCHITECTURE=x86"\r\nset "PROCESSOR_ARCHITEW6432="')
    assert code == 1 and "32-bit" in out and calls == []


def test_setup_refuses_windows_on_arm(wine, tmp_path):
    here = _folder(tmp_path)
    code, out, calls = _run(wine, here, before='set "PROCESSOR_ARCHITECTURE=ARM64"\r\nset "PROCESSOR_ARCHITEW6432="')
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
    assert 'copy /y "%USERPROFILE%' not in text and "truoc-thidua" not in text    # never over a user's file
    assert re.search(r'^set "MAXHERE=(\d+)"', text, re.M).group(1) in re.search(r'HERE:~0,(\d+)%', text).group(1)
