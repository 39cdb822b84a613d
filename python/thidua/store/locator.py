"""Where the store is: a SQLite file (the default, one PC) or a PostgreSQL database (several staff), from one setting."""
from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Mapping
from urllib.parse import unquote, urlsplit

from thidua.errors import ThiDuaError

DEFAULT_DB = "thidua.db"
ARCHIVE_SUFFIX = "-luu-tru"            # thidua.db -> thidua-luu-tru/ab/<sha256>.xlsx
SCHEMES = ("postgresql", "postgres")
KEYRING_SERVICE = "thidua-store"       # keyring set thidua-store USER
META_PREFIX = "store_"                 # rows of the workbook's «Thông tin chung» sheet: store_url, store_staff, ...
URL_FORM = "postgresql://TÊN_ĐĂNG_NHẬP@MÁY_CHỦ:5432/TÊN_CƠ_SỞ_DỮ_LIỆU"
_DB_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}$")


@dataclass(frozen=True)
class StoreLocation:
    """An engine-neutral locator of the store: `engine` is "sqlite" (with `path`) or "postgresql" (with `url`, never
    holding a password; the password comes from `password_file` or the OS keyring, see `store.postgres`)."""

    engine: str
    path: Path | None = None
    url: str | None = None
    password_file: str | None = None

    @property
    def is_sqlite(self) -> bool:
        return self.engine == "sqlite"

    @property
    def name(self) -> str:
        """How messages name the store: the file, or the server URL (no password)."""
        return str(self.path) if self.is_sqlite else str(self.url)

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
    netloc = (f"{u.username}@" if u.username else "") + u.hostname + (f":{port}" if port else "")
    clean = f"postgresql://{netloc}/{PurePosixPath(u.path).name}" + (f"?{u.query}" if u.query else "")
    return StoreLocation("postgresql", url=clean, password_file=password_file or None)


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
    if path is None or not Path(path).is_file():
        return {}
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8-sig"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ThiDuaError(f"Tệp cài đặt {path} viết sai: {exc}.",
                          "Mỗi dòng dạng khoá = \"giá trị\" dưới dòng [store]; sửa rồi chạy lại.") from exc
    section = data.get("store", {})
    return section if isinstance(section, dict) else {}


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
