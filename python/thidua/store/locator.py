"""Where the store is: a SQLite file (the default, one PC) or a PostgreSQL database (several staff), from one setting."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any, Mapping
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from thidua.errors import ThiDuaError
from thidua.settings_file import section

DEFAULT_DB = "thidua.db"
ARCHIVE_SUFFIX = "-luu-tru"            # thidua.db -> thidua-luu-tru/ab/<sha256>.xlsx
SCHEMES = ("postgresql", "postgres")
KEYRING_SERVICE = "thidua-store"       # keyring set thidua-store USER
META_PREFIX = "store_"                 # rows of the workbook's «Thông tin chung» sheet: store_url, store_staff, ...
URL_FORM = "postgresql://TÊN_ĐĂNG_NHẬP@MÁY_CHỦ:5432/TÊN_CƠ_SỞ_DỮ_LIỆU"
_DB_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}$")
_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
SCHEMA_PARAM = "schema"                # postgresql://u@h/db?schema=thidua_2020: one year's store in that database


@dataclass(frozen=True)
class StoreLocation:
    """An engine-neutral locator of the store: `engine` is "sqlite" (with `path`) or "postgresql" (with `url`, never
    holding a password; the password comes from `password_file` or the OS keyring, see `store.postgres`).

    On a server one database holds the office's years, each year's store in its own schema (`thidua_2020`; a store
    made before yearly schemas stays in the database's default schema). `schema` names it; without a schema,
    `year` asks for that year's store, found when connecting (store/postgres.py `find_year`); with neither, the
    default schema."""

    engine: str
    path: Path | None = None
    url: str | None = None
    password_file: str | None = None
    schema: str | None = None
    year: int | None = None

    @property
    def is_sqlite(self) -> bool:
        return self.engine == "sqlite"

    @property
    def name(self) -> str:
        """How messages name the store, and how a store records another (`years`): the file, or the server URL
        (no password) with the year's schema."""
        if self.is_sqlite:
            return str(self.path)
        if not self.schema:
            return str(self.url)
        return f"{self.url}{'&' if '?' in str(self.url) else '?'}{SCHEMA_PARAM}={self.schema}"

    @property
    def database(self) -> "StoreLocation":
        """The database (a server store without its schema or year); a file for a file."""
        return replace(self, schema=None, year=None) if not self.is_sqlite else self

    def in_schema(self, schema: str | None) -> "StoreLocation":
        """The store in `schema` of the same database (None: the default schema), found without a year."""
        return replace(self, schema=schema or None, year=None)

    def for_year(self, year: int | None) -> "StoreLocation":
        """The store of `year` in the same database (found when connecting), unless a schema is already named."""
        if self.is_sqlite or self.schema or year is None:
            return self
        return replace(self, year=int(year))

    def same_store(self, other: "StoreLocation") -> bool:
        """Whether both name the same store: one file, or one schema of one database (a year named but not yet
        found is not compared)."""
        if self.is_sqlite or other.is_sqlite:
            return self.is_sqlite and other.is_sqlite and Path(self.path).resolve() == Path(other.path).resolve()
        return self.same_database(other) and self.schema == other.schema

    def same_database(self, other: "StoreLocation") -> bool:
        """Whether `other` is on the same server and database (the user name aside)."""
        return not self.is_sqlite and not other.is_sqlite and self.parts[1:] == other.parts[1:]

    def __str__(self) -> str:
        return self.name

    @property
    def parts(self):
        """The URL's parts (PostgreSQL only): user, host, port, database."""
        u = urlsplit(self.url or "")
        return (unquote(u.username or "") or None, u.hostname or "localhost", u.port or 5432,
                unquote(u.path.lstrip("/")))

    @property
    def server(self) -> str:
        """The server as people name it: host:port (PostgreSQL), the folder (SQLite)."""
        if self.is_sqlite:
            return str(Path(self.path).parent)
        _, host, port, _ = self.parts
        return f"{host}:{port}"

    @property
    def archive_name(self) -> str:
        """The name archived files are recorded under: `<store name>-luu-tru/<2 hex>/<sha256><suffix>`."""
        stem = Path(self.path).stem if self.is_sqlite else self.parts[3]
        return stem + ARCHIVE_SUFFIX


def is_url(value: Any) -> bool:
    return isinstance(value, str) and value.strip().lower().split("://", 1)[0] in SCHEMES and "://" in value


def locate(value: "str | os.PathLike | StoreLocation | None", password_file: str | None = None) -> StoreLocation:
    """The store named by `--db` (or a setting): a path means SQLite, `postgresql://user@host:port/name` a server.

    A password written in the URL is refused (it would end up in a file, a shell history or a process list)."""
    if isinstance(value, StoreLocation):
        return value
    if value is None or value == "":
        return StoreLocation("sqlite", Path(DEFAULT_DB))
    if hasattr(value, "location") and isinstance(getattr(value, "location"), StoreLocation):
        return value.location                         # an open Store
    if not is_url(value):
        return StoreLocation("sqlite", Path(value))
    text = value.strip()
    try:
        u = urlsplit(text)
        port = u.port
    except ValueError as exc:
        raise _bad_url(text, f"cổng không phải là số ({exc})") from exc
    if u.password is not None:
        shown = text.replace(":" + u.password + "@", ":***@")
        raise ThiDuaError(f"Địa chỉ kho dữ liệu «{shown}» có ghi mật khẩu.",
                          f"Bỏ mật khẩu khỏi địa chỉ; lưu mật khẩu vào kho mật khẩu của hệ điều hành (keyring set "
                          f"{KEYRING_SERVICE} TÊN_ĐĂNG_NHẬP) hoặc vào một tệp chỉ chủ sở hữu đọc được (chmod 600) "
                          "rồi ghi password_file trong mục [store] của thidua.toml.")
    if not u.hostname:
        raise _bad_url(text, "thiếu tên máy chủ")
    name = unquote(u.path.lstrip("/"))
    if not name:
        raise _bad_url(text, "thiếu tên cơ sở dữ liệu sau dấu /")
    if not _DB_NAME.match(name):
        raise _bad_url(text, f"tên cơ sở dữ liệu «{name}» chỉ được có chữ không dấu, số, dấu _ . -")
    if port is not None and not 0 < port < 65536:
        raise _bad_url(text, f"cổng {port} không hợp lệ")
    params = parse_qsl(u.query, keep_blank_values=True)
    schema = next((v for k, v in params if k == SCHEMA_PARAM), None)
    if schema is not None and not _SCHEMA.match(schema):
        raise _bad_url(text, f"tên lược đồ (schema) «{schema}» chỉ được có chữ thường không dấu, số, dấu _")
    query = urlencode([(k, v) for k, v in params if k != SCHEMA_PARAM])
    netloc = (f"{u.username}@" if u.username else "") + u.hostname + (f":{port}" if port else "")
    clean = f"postgresql://{netloc}/{PurePosixPath(u.path).name}" + (f"?{query}" if query else "")
    return StoreLocation("postgresql", url=clean, password_file=password_file or None, schema=schema or None)


def seen_from(base: StoreLocation, recorded: str) -> StoreLocation:
    """A store that the store at `base` records (its `years` table), as a locator: a path relative to `base`'s
    folder; a server address, read with `base`'s login (this PC's user and password) when it is in the same
    database, else with the recorded user and `base`'s password file."""
    if is_url(recorded):
        where = locate(recorded)
        if where.same_database(base):
            return replace(base, schema=where.schema, year=None)
        return replace(where, password_file=base.password_file)
    path = Path(recorded)
    if not path.is_absolute() and base.is_sqlite:
        path = Path(os.path.normpath(Path(base.path).resolve().parent / path))
    return StoreLocation("sqlite", path)


def recorded_as(target: StoreLocation, where: StoreLocation) -> str:
    """How the store at `target` records the store at `where`: a path relative to `target`'s folder when both are
    files (the office's folder of years can be moved whole), else an absolute path, or a server store's address
    (its URL with the year's schema, never a password)."""
    if not where.is_sqlite:
        return where.name
    path = Path(where.path).resolve()
    if target.is_sqlite:
        try:
            return os.path.relpath(path, Path(target.path).resolve().parent)
        except ValueError:                 # another drive on Windows
            pass
    return str(path)


def _bad_url(text: str, why: str) -> ThiDuaError:
    return ThiDuaError(f"Địa chỉ kho dữ liệu «{text}» không đúng dạng: {why}.",
                       f"Ghi dạng {URL_FORM} (không có mật khẩu), hoặc đường dẫn tới tệp .db.")


# ---------------------------------------------------------------- settings: --db, thidua.toml [store], the workbook
@dataclass(frozen=True)
class StoreSettings:
    url: str = ""                 # a path or a postgresql:// URL
    password_file: str = ""
    staff: str = ""               # who is working (recorded with decisions and runs); default: the OS user


def settings_from(meta: Mapping[str, Any] | None, settings_file: Path | None) -> StoreSettings:
    """The `[store]` section of thidua.toml (wins) over the `store_*` rows of the workbook's settings sheet."""
    values: dict[str, str] = {}
    for source, given in ((f"Trang «Thông tin chung» của sổ làm việc",
                           {k[len(META_PREFIX):]: v for k, v in (meta or {}).items() if k.startswith(META_PREFIX)}),
                          (f"Tệp cài đặt {settings_file}", _file_section(settings_file))):
        for key, value in given.items():
            if key in ("password", "mat_khau"):
                raise ThiDuaError(f"{source} có ghi mật khẩu của kho dữ liệu.",
                                  f"Xóa mật khẩu khỏi đó; dùng password_file (tệp chỉ chủ sở hữu đọc được) hoặc "
                                  f"keyring set {KEYRING_SERVICE} TÊN_ĐĂNG_NHẬP.")
            if key in ("url", "password_file", "staff") and value not in (None, ""):
                values[key] = str(value).strip()
    return StoreSettings(**values)


def _file_section(path: Path | None) -> dict:
    return section(path, "store")


def choose(given: "str | os.PathLike | StoreLocation | None", settings: StoreSettings,
           default: "str | os.PathLike" = DEFAULT_DB) -> StoreLocation:
    """The store to use: `--db` if given, else the settings' url, else `default` (a SQLite file)."""
    if given not in (None, ""):
        return locate(given, settings.password_file)
    if settings.url:
        return locate(settings.url, settings.password_file)
    return locate(default)


def staff_name(settings: StoreSettings | None = None) -> str:
    """Who is working: the configured staff name ([store] staff, $THIDUA_STAFF), else the OS login name."""
    if settings is not None and settings.staff:
        return settings.staff
    if os.environ.get("THIDUA_STAFF"):
        return os.environ["THIDUA_STAFF"].strip()
    import getpass
    try:
        return getpass.getuser()
    except (OSError, KeyError, ImportError):
        return "?"
