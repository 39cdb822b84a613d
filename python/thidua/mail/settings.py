"""Mail settings: command line, a `[mail]` section of thidua.toml beside the workbook, the workbook's settings sheet."""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Mapping

from thidua.errors import ThiDuaError
from thidua.settings_file import SETTINGS_FILE, section

META_PREFIX = "mail_"                 # keys of the workbook's «Thông tin chung» sheet: mail_host, mail_port, ...
KEYRING_SERVICE = "thidua-mail"
SECURITY = ("ssl", "starttls", "none")
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
SECRET_KEYS = ("password", "mat_khau")


@dataclass(frozen=True)
class MailSettings:
    """How to reach the office's mailbox (IMAP) and its outgoing server (SMTP)."""

    host: str = ""
    port: int = 0
    security: str = "ssl"
    user: str = ""
    password_file: str = ""
    folder: str = "INBOX"
    ca_file: str = ""                 # extra trusted certificate (a self-signed office server)
    max_message_mb: float = 25.0
    smtp_host: str = ""
    smtp_port: int = 0
    smtp_security: str = "starttls"
    smtp_user: str = ""
    sender: str = ""
    rate_per_minute: float = 20.0

    @property
    def account(self) -> str:
        return f"{self.user}@{self.host.lower()}"          # one mailbox, whichever port or security reaches it

    @property
    def imap_port(self) -> int:
        return self.port or {"ssl": 993}.get(self.security, 143)

    @property
    def smtp_port_(self) -> int:
        return self.smtp_port or {"ssl": 465, "starttls": 587}.get(self.smtp_security, 25)

    def merged(self, values: Mapping[str, Any], source: str) -> "MailSettings":
        """These settings with `values` (from `source`, named in errors) laid over them; blanks ignored."""
        known = {f.name: f.type for f in fields(self)}
        changes: dict[str, Any] = {}
        for name, value in values.items():
            if name in SECRET_KEYS:
                raise ThiDuaError(f"{source} có ghi mật khẩu hộp thư.",
                                  "Xóa mật khẩu khỏi đó; dùng --password-file (tệp chỉ chủ sở hữu đọc được) "
                                  f"hoặc lưu vào kho mật khẩu của hệ điều hành: keyring set {KEYRING_SERVICE} TÊN_ĐĂNG_NHẬP.")
            if name not in known or value is None or value == "":
                continue
            try:
                kind = known[name]
                changes[name] = int(value) if kind == "int" else float(value) if kind == "float" else str(value).strip()
            except (TypeError, ValueError) as exc:
                raise ThiDuaError(f"{source}: giá trị «{value}» của {name} không hợp lệ.",
                                  "Sửa thành một số (cổng, giới hạn) hoặc để trống.") from exc
        out = replace(self, **changes)
        for name in ("security", "smtp_security"):
            if getattr(out, name) not in SECURITY:
                raise ThiDuaError(f"{source}: kiểu bảo mật «{getattr(out, name)}» không hợp lệ.",
                                  "Dùng ssl, starttls hoặc none (none chỉ với máy chủ trên chính máy này).")
        return out


def from_meta(meta: Mapping[str, Any]) -> dict:
    """The `mail_*` rows of the workbook's settings sheet (plan meta)."""
    return {k[len(META_PREFIX):]: v for k, v in meta.items() if k.startswith(META_PREFIX)}


def from_file(path: Path | None) -> dict:
    """The `[mail]` section of a settings file (TOML); {} when there is no such file."""
    return section(path, "mail")


def load_settings(meta: Mapping[str, Any] | None = None, settings_file: Path | None = None,
                  overrides: Mapping[str, Any] | None = None) -> MailSettings:
    """Settings from the workbook's sheet, then the settings file, then the command line (last wins)."""
    s = MailSettings()
    s = s.merged(from_meta(meta or {}), "Trang «Thông tin chung» của sổ làm việc")
    s = s.merged(from_file(settings_file), f"Tệp cài đặt {settings_file}")
    return s.merged(dict(overrides or {}), "Dòng lệnh")


def settings_file_for(workbook: str | Path | None, explicit: str | Path | None = None,
                      db: str | Path | None = None) -> Path | None:
    """The settings file: the one named, else thidua.toml beside the workbook, else beside the store (--db),
    else in the current folder; None when none of the last two exists."""
    if explicit:
        return Path(explicit)
    if workbook:
        return Path(workbook).resolve().parent / SETTINGS_FILE
    for here in ([Path(db).parent / SETTINGS_FILE] if db else []) + [Path(SETTINGS_FILE)]:
        if here.is_file():
            return here
    return None


def settings_home(workbook: str | Path | None, explicit: str | Path | None = None,
                  db: str | Path | None = None) -> Path:
    """Where the settings file is read from, or goes when there is none yet (named in hints)."""
    found = settings_file_for(workbook, explicit, db)
    if found is not None:
        return found
    return (Path(db).parent if db else Path(".")).resolve() / SETTINGS_FILE


def write_demo_settings(folder: Path, sender: str) -> Path:
    """A thidua.toml for the demo's folder: a (fictional) sender, enough for `mail send --dry-run`."""
    from thidua.fileio import atomic_write_bytes
    text = ("# Cài đặt hộp thư của văn phòng (thidua demo: địa chỉ hư cấu, chỉ để chạy thử).\n"
            "# Các lệnh thidua tìm tệp này cạnh sổ làm việc (--workbook), cạnh cơ sở dữ liệu (--db)\n"
            "# hoặc ở thư mục đang đứng; xem mục «The office's mailbox» trong README.md.\n"
            "[mail]\n"
            f"sender = \"{sender}\"\n")
    return atomic_write_bytes(Path(folder) / SETTINGS_FILE, text.encode("utf-8"))


def require_secure(host: str, security: str, what: str) -> None:
    """Plain connections only to this machine."""
    if security == "none" and host.lower() not in LOCAL_HOSTS:
        raise ThiDuaError(f"Không được kết nối {what} {host} mà không mã hóa (security = none).",
                          "Dùng --security ssl hoặc starttls; none chỉ dùng cho máy chủ thử trên chính máy này.")


def password(user: str, host: str, password_file: str = "", service: str = KEYRING_SERVICE,
             what: str = "hộp thư") -> str:
    """The app password: from a file only its owner can read, or from the OS keyring (`service`, by user name).
    `what` names what it opens in messages (the mailbox; the store uses it too, see store/postgres.py)."""
    if password_file:
        path = Path(password_file)
        try:
            st = path.stat()
        except OSError as exc:
            raise ThiDuaError(f"Không đọc được tệp mật khẩu {path}: {exc.strerror or exc}.",
                              f"Chỉ đúng tệp chứa mật khẩu của {what}.") from exc
        if os.name == "posix" and st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ThiDuaError(f"Tệp mật khẩu {path} người khác cũng đọc được (quyền {stat.S_IMODE(st.st_mode):o}).",
                              f"Chạy: chmod 600 {path}")
        text = path.read_text(encoding="utf-8-sig").strip().splitlines()
        if not text or not text[0].strip():
            raise ThiDuaError(f"Tệp mật khẩu {path} trống.", f"Ghi mật khẩu của {what} vào dòng đầu.")
        return text[0].strip()
    try:
        import keyring
        import keyring.errors
        secret = keyring.get_password(service, user)
    except Exception as exc:       # no usable keyring backend on this machine
        secret = None
        why = f" ({type(exc).__name__})"
    else:
        why = ""
    if not secret:
        raise ThiDuaError(f"Chưa có mật khẩu {what} của {user} trong kho mật khẩu của hệ điều hành{why}.",
                          f"Lưu bằng: keyring set {service} {user} — hoặc dùng --password-file TỆP "
                          "(tệp chỉ chủ sở hữu đọc được).")
    return secret
