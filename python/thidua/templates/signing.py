"""The office's secret key and the keyed signature that ties a template to one unit and round."""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
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


def load_key(path: str | Path | None = None, create: bool = True) -> bytes:
    """Read the office's key; on first use create a random one (never committed: *.key is ignored)."""
    p = key_path(path)
    if p.exists():
        text = p.read_text(encoding="ascii", errors="replace").strip()
        try:
            key = bytes.fromhex(text)
        except ValueError as exc:
            raise ThiDuaError(f"Tệp khóa {p} bị hỏng.", "Khôi phục tệp khóa từ bản sao lưu của văn phòng.") from exc
        if len(key) < 16:
            raise ThiDuaError(f"Tệp khóa {p} quá ngắn.", "Khôi phục tệp khóa từ bản sao lưu của văn phòng.")
        return key
    if not create:
        raise ThiDuaError(f"Chưa có tệp khóa {p}.", "Chạy «thidua templates» một lần để tạo khóa, hoặc chép khóa của văn phòng vào đó.")
    p.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    tmp = p.with_suffix(".tmp")
    tmp.write_text(key.hex() + "\n", encoding="ascii")
    os.replace(tmp, p)
    return key


def sign(key: bytes, unit: str, round_code: str, version: str) -> str:
    """HMAC-SHA256 over the identity, as hex; a file cannot be passed off as another unit's."""
    message = "\x1f".join((unit, round_code, version)).encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def verify(key: bytes, unit: str, round_code: str, version: str, signature: str) -> bool:
    return hmac.compare_digest(sign(key, unit, round_code, version), (signature or "").strip().lower())
