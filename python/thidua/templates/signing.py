"""The office's secret key and the keyed signature that ties a template to one unit and round."""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from functools import lru_cache
from pathlib import Path

from thidua.errors import ThiDuaError

KEY_ENV = "THIDUA_KEY_FILE"
DEFAULT_KEY_FILE = Path.home() / ".thidua" / "office.key"


def key_path(path: str | Path | None = None) -> Path:
    """Where the key lives: the given path, else $THIDUA_KEY_FILE, else ~/.thidua/office.key."""
    if path:
        return Path(path)
    env = os.environ.get(KEY_ENV)
    return Path(env) if env else DEFAULT_KEY_FILE


def load_key(path: str | Path | None = None) -> bytes:
    """Read the office's key; never create one (see `new_key`): a missing key is a Lỗi/Thử error."""
    p = key_path(path)
    if not p.exists():
        raise ThiDuaError(f"Chưa có tệp khóa của văn phòng {p}.",
                          "Chép tệp khóa của văn phòng (từ bản sao lưu) vào đó, hoặc chỉ đúng tệp bằng --key / "
                          f"${KEY_ENV}; chỉ khi văn phòng chưa từng có khóa mới chạy «thidua key new».")
    text = p.read_text(encoding="ascii", errors="replace").strip()
    try:
        key = bytes.fromhex(text)
    except ValueError as exc:
        raise ThiDuaError(f"Tệp khóa {p} bị hỏng.", "Khôi phục tệp khóa từ bản sao lưu của văn phòng.") from exc
    if len(key) < 16:
        raise ThiDuaError(f"Tệp khóa {p} quá ngắn.", "Khôi phục tệp khóa từ bản sao lưu của văn phòng.")
    return key


@lru_cache(maxsize=16)
def fingerprint(key: bytes) -> str:
    """A short public name of a key (first 16 hex digits of its SHA-256): safe to print and store; the key id
    every template carries in its hidden metadata (row «key»), beside its signature."""
    return hashlib.sha256(key).hexdigest()[:16]


def new_key(path: str | Path | None = None) -> bytes:
    """Create a random key file readable by its owner only (mode 0600); refuse to replace an existing one."""
    p = key_path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    try:
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise ThiDuaError(f"Đã có tệp khóa {p}; không tạo khóa mới đè lên.",
                          "Dùng khóa đó («thidua key show» xem dấu vân tay); muốn làm lại từ đầu thì tự chuyển "
                          "tệp khóa cũ sang chỗ khác trước.") from exc
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key.hex() + "\n")
    os.chmod(p, 0o600)
    return key


def load_or_create_key(path: str | Path | None = None) -> bytes:
    """The demo's own key in its own folder: created on first use."""
    return load_key(path) if key_path(path).exists() else new_key(path)


def sign(key: bytes, unit: str, round_code: str, version: str) -> str:
    """HMAC-SHA256 over the identity, as hex; a file cannot be passed off as another unit's."""
    message = "\x1f".join((unit, round_code, version)).encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def verify(key: bytes, unit: str, round_code: str, version: str, signature: str) -> bool:
    return hmac.compare_digest(sign(key, unit, round_code, version), (signature or "").strip().lower())
