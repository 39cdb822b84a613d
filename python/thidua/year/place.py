"""Where each year's working set lives in the office's folder: the years side by side, one key for all of them.

    ThiDua2019.xlsm  thidua-2019.sqlite  thidua-2019-luu-tru/  hop-thu-2019/  bieu-mau-2019/ ...
    ThiDua2020.xlsm  thidua-2020.sqlite  thidua-2020-luu-tru/  hop-thu-2020/  bieu-mau-2020/ ...
    thidua.key       mau-van-ban/  sao-luu/  thidua.toml                       (shared by the years)

A folder made before stores were named by year has `thidua.sqlite`: it stays the store of the year it holds.
"""
from __future__ import annotations

import contextlib
from pathlib import Path

from thidua.errors import ThiDuaError

WORKBOOK = "ThiDua{year}.xlsm"
STORE = "thidua-{year}.sqlite"
LEGACY_STORE = "thidua.sqlite"
KEY_FILE = "thidua.key"


def workbook_file(folder: str | Path, year: int) -> Path:
    return Path(folder) / WORKBOOK.format(year=int(year))


def named_store(folder: str | Path, year: int) -> Path:
    return Path(folder) / STORE.format(year=int(year))


def stored_year(path: str | Path) -> int | None:
    """The year a store file holds (None: no year recorded, or not a store we can read)."""
    from thidua.store.history import store_year
    from thidua.store.store import Store
    with contextlib.suppress(ThiDuaError):
        with contextlib.closing(Store.open_readonly(path)) as store:
            with contextlib.suppress(Exception):      # a store without the meta table holds no year
                return store_year(store)
    return None


def store_file(folder: str | Path, year: int) -> Path:
    """The store of `year` beside the workbooks: thidua-<year>.sqlite, or the older unnamed thidua.sqlite when
    that one holds this year (or none yet) and no named store exists."""
    named = named_store(folder, year)
    legacy = Path(folder) / LEGACY_STORE
    if not named.exists() and legacy.is_file() and stored_year(legacy) in (None, int(year)):
        return legacy
    return named


def year_folder(folder: str | Path, name: str, year: int) -> Path:
    """A folder of one year's files (templates, inbox, feedback, summaries ...): `<name>-<year>`."""
    return Path(folder) / f"{name}-{int(year)}"


def existing_parts(folder: str | Path, year: int) -> list[Path]:
    """What of `year`'s working set is already in `folder` (its workbook, its store)."""
    found = [p for p in (workbook_file(folder, year), named_store(folder, year)) if p.exists()]
    legacy = Path(folder) / LEGACY_STORE
    if legacy.is_file() and stored_year(legacy) == int(year):
        found.append(legacy)
    return found
