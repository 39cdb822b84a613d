"""A store's year and the years behind it (table `years`), and what the history reads from a year's store."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any, Iterable, Mapping

from thidua.errors import ThiDuaError
from thidua.store.store import Store, now_iso

AWARDED = "awarded"


def _json_default(value: Any) -> str:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    raise TypeError(f"not JSON: {type(value).__name__}")


def plan_json(tables: Mapping[str, Any]) -> str:
    """A plan's tables as JSON text (dates as ISO text; `Plan.from_tables` reads them back)."""
    return json.dumps(tables, ensure_ascii=False, sort_keys=True, default=_json_default)


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


# ---------------------------------------------------------------- the store's own year
def store_year(store: Store) -> int | None:
    """The year this store holds (None for a store no plan was ever synchronised into)."""
    value = store.meta("year")
    return int(value) if value not in (None, "") else None


def check_year(store: Store, year: int, name: str) -> None:
    """Refuse to read or write year `year` in a store of another year: a year's figures never land in another's."""
    held = store_year(store)
    if held is not None and held != int(year):
        raise ThiDuaError(
            f"Kho dữ liệu {name} là của năm {held}, không phải năm {year} của kế hoạch đang dùng: "
            f"số liệu năm {year} không được ghi vào hay đọc từ kho năm {held}.",
            f"Dùng kho dữ liệu của năm {year} (thidua-{year}.sqlite cạnh sổ ThiDua{year}.xlsm, hoặc --db), "
            f"hoặc mở sổ làm việc / kế hoạch của năm {held}. Năm mới: «thidua new-year {year}».")


def set_year(store: Store, year: int) -> None:
    store.set_meta("year", str(int(year)))


def record_year(store: Store, year: int, tables: Mapping[str, Any] | None, location: str | None = None,
                note: str | None = None) -> None:
    """Record (or update) what the store knows of `year`: its location (None = this store) and its plan's tables."""
    text = plan_json(tables) if tables is not None else None
    print_ = digest(text) if text is not None else None
    found = store.one("SELECT location, plan_fingerprint FROM years WHERE year = ?", (int(year),))
    if found and found["location"] == location and found["plan_fingerprint"] == print_:
        return
    store.upsert("years", [{"year": int(year), "location": location, "plan": text, "plan_fingerprint": print_,
                            "recorded_at": now_iso(), "note": note}], key=("year",))


def known_years(store: Store) -> list[dict]:
    """Every year this store knows, oldest first: year, location (None = this store), plan (tables or None), note."""
    out = []
    for row in store.rows("SELECT year, location, plan, note FROM years ORDER BY year"):
        row["plan"] = json.loads(row["plan"]) if row["plan"] else None
        out.append(row)
    return out


def copy_years(source: Store, target: Store, location_of: Mapping[int, str | None]) -> None:
    """Copy the earlier years `source` knows into `target`, with their locations as seen from the target."""
    for row in source.rows("SELECT year, location, plan, plan_fingerprint, note FROM years ORDER BY year"):
        year = int(row["year"])
        if year not in location_of:
            continue
        target.upsert("years", [{"year": year, "location": location_of[year], "plan": row["plan"],
                                 "plan_fingerprint": row["plan_fingerprint"], "recorded_at": now_iso(),
                                 "note": row["note"]}], key=("year",))


def set_location(store: Store, year: int, location: str) -> None:
    """Where an earlier year's store is, as seen from this store (after the store was copied elsewhere)."""
    with store.atomic():
        store.conn.execute("UPDATE years SET location = ? WHERE year = ?", (location, int(year)))


def copy_meta(source: Store, target: Store, names: Iterable[str]) -> None:
    for name in names:
        value = source.meta(name)
        if value is not None:
            target.set_meta(name, value)


# ---------------------------------------------------------------- what the history reads from a year's store
def register(store: Store) -> list[dict]:
    """The register kept in the store (with marks when the store has them), by code."""
    return store.rows("SELECT * FROM units ORDER BY code")


def awarded(store: Store, units: Iterable[str] | None = None) -> list[dict]:
    """Every active proposal the office awarded, with its round, subject, name, title and (decided) form."""
    sql = ("SELECT id, unit, round, subject, name, name_key, title, form, decided_form, decided_at, fields "
           "FROM proposals WHERE active = 1 AND state = ?")
    args: list[Any] = [AWARDED]
    wanted = list(units) if units is not None else None
    if wanted is not None:
        sql += f" AND unit IN ({', '.join('?' * len(wanted))})"
        args += wanted
    rows = store.rows(sql + " ORDER BY unit, id", args)
    for row in rows:
        row["fields"] = json.loads(row["fields"]) if row["fields"] else {}
    return rows


def proposed(store: Store, rounds: Iterable[str]) -> list[dict]:
    """Active proposals of the given rounds (any state): unit, subject, name, title, form, state."""
    wanted = list(rounds)
    if not wanted:
        return []
    return store.rows("SELECT id, unit, round, subject, name, name_key, title, form, decided_form, state "
                      f"FROM proposals WHERE active = 1 AND round IN ({', '.join('?' * len(wanted))}) "
                      "ORDER BY unit, id", wanted)
