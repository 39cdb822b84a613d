"""Run headless LibreOffice: convert a workbook (to PDF, xlsx, xls, ods) with a private profile."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from thidua.errors import ThiDuaError

FILTERS = {"pdf": "pdf:calc_pdf_Export", "xlsx": "xlsx:Calc MS Excel 2007 XML", "xls": "xls:MS Excel 97",
           "ods": "ods"}
LOCALE = "vi-VN"      # number formats print 1.797.000.000 and 85,4% (the locale of the office's Windows)
# A fresh profile's settings: the locale that "#,##0" and "0.0%" follow (Tools > Options > Languages).
PROFILE_SETTINGS = f"""<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Setup/L10N"><prop oor:name="ooSetupSystemLocale" oor:op="fuse"><value>{LOCALE}</value></prop></item>
</oor:items>
"""


def soffice() -> str | None:
    """The soffice executable, or None when LibreOffice is not installed."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def make_profile(folder: str | Path) -> str:
    """Prepare a private LibreOffice profile in `folder` (Vietnamese number locale); return its -env URL."""
    user = Path(folder) / "user"
    user.mkdir(parents=True, exist_ok=True)
    (user / "registrymodifications.xcu").write_text(PROFILE_SETTINGS, encoding="utf-8")
    return Path(folder).resolve().as_uri()


def convert(path: str | Path, fmt: str, out_dir: str | Path, timeout: float = 180) -> Path:
    """Convert `path` to `fmt` in `out_dir` with headless LibreOffice; return the new file's path (see convert_all)."""
    return convert_all([path], fmt, out_dir, timeout)[0]


def convert_all(paths, fmt: str, out_dir: str | Path, timeout: float = 180) -> list[Path]:
    """Convert every file of `paths` to `fmt` in `out_dir` (one LibreOffice start for the Writer documents, one for
    the others); return the new files' paths in the order of `paths`.

    LibreOffice writes into a hidden folder beside the results; each file is checked whole (a PDF ends with
    %%EOF, a workbook's zip directory reads) before it is renamed into place, because LibreOffice reports
    success even when a full disk cut its output short."""
    from thidua import faults
    from thidua.fileio import remove_stale_temps
    exe = soffice()
    if exe is None:
        raise ThiDuaError("Chưa cài LibreOffice nên không xuất được tệp PDF.",
                          "Cài LibreOffice (Debian: apt-get install libreoffice-calc) rồi chạy lại.")
    sources = [Path(p).resolve() for p in paths]
    out = Path(out_dir).resolve()
    results = [out / (src.stem + "." + fmt) for src in sources]
    try:
        out.mkdir(parents=True, exist_ok=True)
        for result in results:
            remove_stale_temps(result)
    except OSError as exc:
        raise faults.translate(exc, results[0]) or exc
    is_writer = lambda src: src.suffix.lower() in (".docx", ".doc", ".odt") and fmt == "pdf"  # noqa: E731
    for writer in (True, False):
        group = [(src, result) for src, result in zip(sources, results) if is_writer(src) == writer]
        if group:
            _convert_group(exe, group, fmt, out, writer, timeout)
    return results


def _convert_group(exe: str, group: list[tuple[Path, Path]], fmt: str, out: Path, writer: bool,
                   timeout: float) -> None:
    from thidua import faults
    from thidua.fileio import scratch_folder
    first = group[0][1]
    need = OUTPUT_FACTOR * sum(src.stat().st_size for src, _ in group)
    with faults.expect_space(out, need, what=f"tệp {first}"), scratch_folder("lo") as profile:
        try:
            stage = Path(tempfile.mkdtemp(prefix=f".{group[0][0].stem}.{os.getpid()}.", suffix=f".tmp.{fmt}",
                                          dir=out))
        except OSError as exc:
            raise faults.translate(exc, first) or exc
        try:
            cmd = [exe, "--headless", "--norestore", f"-env:UserInstallation={make_profile(profile)}",
                   "--convert-to", "pdf:writer_pdf_Export" if writer else FILTERS.get(fmt, fmt), "--outdir",
                   str(stage), *(str(src) for src, _ in group)]
            scratch = Path(profile) / "tmp"              # LibreOffice's own temporaries: inside our scratch folder
            scratch.mkdir()
            env = dict(os.environ, HOME=str(profile), TMPDIR=str(scratch), TMP=str(scratch), TEMP=str(scratch))
            try:
                subprocess.run(cmd, check=True, capture_output=True, timeout=timeout * len(group), env=env)
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
                _out_of_space(first, need)
                names = ", ".join(src.name for src, _ in group)
                raise ThiDuaError(f"LibreOffice không chuyển được {names} sang {fmt}: {exc}.",
                                  "Đóng các cửa sổ LibreOffice đang mở rồi chạy lại.") from exc
            for src, result in group:
                made = stage / result.name
                if not whole(made, fmt):
                    _out_of_space(result, need)
                    raise ThiDuaError(f"LibreOffice không tạo ra {result.name}.", "Mở tệp bằng LibreOffice để xem lỗi.")
                try:
                    os.replace(made, result)
                except OSError as exc:
                    raise faults.translate(exc, result) or exc
        finally:
            shutil.rmtree(stage, ignore_errors=True)


OUTPUT_FACTOR = 4         # a PDF of a workbook is about 3.4 times its size (fonts embedded): room asked for it


def whole(path: Path, fmt: str) -> bool:
    """Whether a file LibreOffice wrote is complete: a PDF ends with %%EOF, an .xlsx/.ods zip opens."""
    try:
        size = path.stat().st_size
        if size == 0:
            return False
        if fmt == "pdf":
            with open(path, "rb") as fh:
                fh.seek(max(0, size - 1024))
                return b"%%EOF" in fh.read()
        if fmt in ("xlsx", "ods"):
            import zipfile
            with zipfile.ZipFile(path) as zf:
                return bool(zf.namelist())
        return True
    except (OSError, ValueError, Exception):     # zipfile.BadZipFile and friends: not whole
        return False


def _out_of_space(result: Path, need: int) -> None:
    """A LibreOffice failure on a disk that is now full is that: say so with the space needed."""
    from thidua import faults
    from thidua.volumes import free_bytes
    free = free_bytes(result.parent)
    if free is not None and free < faults.MARGIN:
        raise faults.disk_full(result, need + faults.MARGIN)
