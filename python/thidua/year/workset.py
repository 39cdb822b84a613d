"""A year's working set: the plan, the register, the office key and the store, built once at a face."""
from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Iterable, Iterator

from thidua.plan.dated import InForce, Office
from thidua.plan.model import Plan
from thidua.plan.units import Unit
from thidua.store.db import DEFAULT_DB



@dataclass(frozen=True)
class WorkingSet:
    """What nearly every job needs, in one object: a job takes the working set plus what is its own.

    The faces build it once: the CLI from its options (`WorkingSet.load`), the xlwings face from the calling
    workbook, a test from its fixtures. `db` says where the store is; `key_file` where the office key is
    (None: $THIDUA_KEY_FILE, else ~/.thidua/office.key); `secret` is the key itself when the caller already
    holds it (the demo, tests) and wins over `key_file`. The key is read only by the jobs that need it.
    """

    plan: Plan
    units: tuple[Unit, ...]
    db: str | Path = DEFAULT_DB
    key_file: str | Path | None = None
    secret: bytes | None = field(default=None, repr=False)
    register: tuple[Unit, ...] = ()

    def __post_init__(self) -> None:
        """`units` keeps the units that report this year; `register` every row, closed, merged and renamed units
        included (they are kept for their history; see plan/units.py)."""
        given = tuple(self.units)
        object.__setattr__(self, "register", tuple(self.register) or given)
        object.__setattr__(self, "units", tuple(u for u in given if getattr(u, "active", True)))

    @classmethod
    def load(cls, plan: str | Path | None = None, register: str | Path | None = None,
             workbook: str | Path | None = None, db: str | Path | None = None,
             key_file: str | Path | None = None) -> "WorkingSet":
        """The plan and register named by a file (.toml/.csv or the master workbook; bundled defaults otherwise).
        Without `db`, a master workbook's store is the one of its year beside it (thidua-<year>.sqlite)."""
        from thidua.plan.load import load_plan, load_units
        chosen = load_plan(plan or workbook)
        if db is None and workbook is not None:
            from thidua.year.place import store_file
            db = store_file(Path(workbook).resolve().parent, chosen.year)
        return cls(chosen, tuple(load_units(register or workbook)), db or DEFAULT_DB, key_file)

    # ---------------------------------------------------------------- the year and its register
    @property
    def year(self) -> int:
        return self.plan.year

    @cached_property
    def unit_map(self) -> dict[str, Unit]:
        return {u.code: u for u in self.units}

    @cached_property
    def register_map(self) -> dict[str, Unit]:
        """Every unit of the register by code, closed, merged and renamed ones included: what a file is read
        against (a file of a unit that no longer reports is told so, not called unknown)."""
        return {u.code: u for u in self.register}

    @cached_property
    def unit_names(self) -> dict[str, str]:
        return {u.code: u.name for u in self.units}

    def with_units(self, units: Iterable[Unit]) -> "WorkingSet":
        """The same year with another register (a test's subset, the units chosen for one job)."""
        return dataclasses.replace(self, units=tuple(units))

    def with_db(self, db: str | Path) -> "WorkingSet":
        return dataclasses.replace(self, db=db)

    # ---------------------------------------------------------------- the years behind this one
    @cached_property
    def history(self) -> "History":  # noqa: F821 (imported lazily)
        """This year and the earlier years its store knows (year/history.py), read when first asked."""
        from thidua.year.history import History
        return History(self)

    # ---------------------------------------------------------------- what is in force on a date (dated data)
    def in_force(self, day: dt.date) -> InForce:
        """What is in force on `day`: `.office` (names, place, signer), `.bases` / `.basis(role)` / `.cite(ref)`
        (legal bases), `.base_salary`, `.amount(form, subject)` (money by rule), `.conditions`, `.quotas`.
        A part no row covers is refused (ThiDuaError naming the missing row) when it is asked for."""
        return self.plan.in_force(day)

    def office(self, day: dt.date | None = None) -> Office:
        """The office's names in force on `day` (default: the end of the plan's year)."""
        return self.plan.office_on(day)

    # ---------------------------------------------------------------- the office key
    def key_path(self) -> Path:
        from thidua.templates.signing import key_path
        return key_path(self.key_file)

    def key(self) -> bytes:
        """The office key; never created here (a missing key is a Lỗi/Thử error, see templates/signing.py)."""
        if self.secret is not None:
            return self.secret
        from thidua.templates.signing import load_key
        return load_key(self.key_file)

    # ---------------------------------------------------------------- the store
    @property
    def db_path(self) -> Path:
        return Path(getattr(self.db, "path", self.db))

    @contextlib.contextmanager
    def store(self, create: bool = False) -> Iterator["Store"]:  # noqa: F821 (store imported lazily)
        """The store opened for a block and closed after it (or the open Store the working set was given)."""
        from thidua.store.history import check_year
        from thidua.store.store import Store
        with Store.using(self.db if isinstance(self.db, Store) else self.db_path, create=create) as store:
            check_year(store, self.year, self.db_path.name)     # never another year's figures
            yield store

    def check_year(self) -> None:
        """Refuse, before anything is read or written, a store that holds another year than the plan's."""
        if isinstance(self.db, (str, Path)) and not self.db_path.exists():
            return
        with self.store():
            pass
