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
    """Convert `path` to `fmt` in `out_dir` with headless LibreOffice; return the new file's path."""
    return convert_all([path], fmt, out_dir, timeout)[0]


def convert_all(paths: list[str | Path] | tuple, fmt: str, out_dir: str | Path, timeout: float = 180) -> list[Path]:
    """Convert every file of `paths` to `fmt` in `out_dir`, one LibreOffice start for the Writer documents and one
    for the others; return the new files' paths in the order of `paths`."""
    exe = soffice()
    if exe is None:
        raise ThiDuaError("Chưa cài LibreOffice nên không xuất được tệp PDF.",
                          "Cài LibreOffice (Debian: apt-get install libreoffice-calc) rồi chạy lại.")
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    sources = [Path(p).resolve() for p in paths]
    is_writer = lambda src: src.suffix.lower() in (".docx", ".doc", ".odt") and fmt == "pdf"  # noqa: E731
    for writer in (True, False):
        group = [src for src in sources if is_writer(src) == writer]
        if not group:
            continue
        with tempfile.TemporaryDirectory(prefix="thidua-lo-") as profile:
            cmd = [exe, "--headless", "--norestore", f"-env:UserInstallation={make_profile(profile)}",
                   "--convert-to", "pdf:writer_pdf_Export" if writer else FILTERS.get(fmt, fmt), "--outdir", str(out),
                   *map(str, group)]
            env = dict(os.environ, HOME=profile)
            try:
                subprocess.run(cmd, check=True, capture_output=True, timeout=timeout * len(group), env=env)
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
                names = ", ".join(src.name for src in group)
                raise ThiDuaError(f"LibreOffice không chuyển được {names} sang {fmt}: {exc}.",
                                  "Đóng các cửa sổ LibreOffice đang mở rồi chạy lại.") from exc
    results = [out / (src.stem + "." + fmt) for src in sources]
    for result in results:
        if not result.exists():
            raise ThiDuaError(f"LibreOffice không tạo ra {result.name}.", "Mở tệp bằng LibreOffice để xem lỗi.")
    return results
