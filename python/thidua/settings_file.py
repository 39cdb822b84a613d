"""The office's settings file thidua.toml beside the workbook: one section of it, a broken file said in Vietnamese."""
from __future__ import annotations

import tomllib
from pathlib import Path

from thidua.errors import ThiDuaError

SETTINGS_FILE = "thidua.toml"         # beside the master workbook


def section(path: Path | None, name: str) -> dict:
    """The `[name]` section of a settings file; {} when there is no such file or section."""
    if path is None or not Path(path).is_file():
        return {}
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8-sig"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ThiDuaError(f"Tệp cài đặt {path} viết sai: {exc}.",
                          f"Mỗi dòng dạng khoá = \"giá trị\" dưới dòng [{name}]; sửa rồi chạy lại.") from exc
    found = data.get(name, {})
    return found if isinstance(found, dict) else {}
