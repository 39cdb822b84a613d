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
from thidua.store.locator import DEFAULT_DB, StoreLocation, locate


@dataclass(frozen=True)
class WorkingSet:
    """What nearly every job needs, in one object: a job takes the working set plus what is its own.

    The faces build it once: the CLI from its options (`WorkingSet.load`), the xlwings face from the calling
    workbook, a test from its fixtures. `db` says where the store is: an engine-neutral locator
    (store/locator.py: a SQLite file or a PostgreSQL URL; a path or URL given is turned into one), or an open
    Store; `key_file` where the office key is (None: $THIDUA_KEY_FILE, else ~/.thidua/office.key); `secret` is the
    key itself when the caller already holds it (the demo, tests) and wins over `key_file`. The key is read only
    by the jobs that need it. `staff` is who is working (recorded with decisions; None: the OS login name).
    """

    plan: Plan
    units: tuple[Unit, ...]
    db: StoreLocation | str | Path = DEFAULT_DB
    key_file: str | Path | None = None
    secret: bytes | None = field(default=None, repr=False)
    register: tuple[Unit, ...] = ()
    staff: str | None = None

    def __post_init__(self) -> None:
        """`units` keeps the units that report this year; `register` every row, closed, merged and renamed units
        included (they are kept for their history; see plan/units.py). `db` becomes a locator (an open Store is
        kept as it is)."""
        given = tuple(self.units)
        object.__setattr__(self, "register", tuple(self.register) or given)
        object.__setattr__(self, "units", tuple(u for u in given if getattr(u, "active", True)))
        if not hasattr(self.db, "atomic"):        # on a server: this year's store of the database (its schema)
            object.__setattr__(self, "db", locate(self.db).for_year(self.plan.year))

    @classmethod
    def load(cls, plan: str | Path | None = None, register: str | Path | None = None,
             workbook: str | Path | None = None, db: str | Path | None = None,
             key_file: str | Path | None = None, settings_file: str | Path | None = None) -> "WorkingSet":
        """The plan and register named by a file (.toml/.csv or the master workbook; bundled defaults otherwise);
        the store named by `db`, else by the settings (`[store]` of thidua.toml beside the workbook or in the
        current folder, or the workbook's `store_url` row), else a master workbook's store of its year beside it
        (thidua-<year>.sqlite), else thidua.db."""
        from thidua.plan.load import load_plan, load_units
        from thidua.store.locator import choose, settings_from, staff_name
        from thidua.mail.settings import settings_file_for
        chosen = load_plan(plan or workbook)
        settings = settings_from(chosen.meta, settings_file_for(workbook, settings_file))
        default: str | Path = DEFAULT_DB
        if workbook is not None:
            from thidua.year.place import store_file
            default = store_file(Path(workbook).resolve().parent, chosen.year)
        return cls(chosen, tuple(load_units(register or workbook)), choose(db, settings, default), key_file,
                   staff=staff_name(settings))

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

    def with_db(self, db: "StoreLocation | str | Path") -> "WorkingSet":
        """The same year with another store (an earlier year's, a copy)."""
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
    def location(self) -> StoreLocation:
        """Where the store is (whichever engine); everything about it goes through the Store object."""
        return locate(self.db)

    def who(self) -> str:
        """Who is working: the configured staff name, else the OS login name."""
        from thidua.store.locator import staff_name
        return self.staff or staff_name()

    @contextlib.contextmanager
    def store(self, create: bool = False) -> Iterator["Store"]:  # noqa: F821 (store imported lazily)
        """The store opened for a block and closed after it (or the open Store the working set was given)."""
        from thidua.store.history import check_year
        from thidua.store.store import Store
        with Store.using(self.db, create=create) as store:
            check_year(store, self.year, store.name)     # never another year's figures
            yield store

    @property
    def db_path(self) -> Path:
        """The store's file, for the few jobs that work beside it (a new year's folder): a SQLite store only."""
        if hasattr(self.db, "atomic") and self.db.path is not None:
            return Path(self.db.path)
        if not self.location.is_sqlite:
            from thidua.errors import ThiDuaError
            raise ThiDuaError(f"Việc này cần kho dữ liệu là một tệp, còn kho đang dùng ở máy chủ {self.location}.",
                              "Chép kho về một tệp bằng «thidua store copy --to thidua.db» rồi làm việc đó với --db, "
                              "hoặc làm trên máy đặt kho dữ liệu dạng tệp.")
        return Path(self.location.path)

    def check_year(self) -> None:
        """Refuse, before anything is read or written, a store that holds another year than the plan's."""
        from thidua.store.store import exists
        if not hasattr(self.db, "atomic") and not exists(self.location):
            return
        with self.store():
            pass
