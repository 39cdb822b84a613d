"""Find the spreadsheets a message carries: attachments, files inside a .zip, forwarded messages (message/rfc822)."""
from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses

SPREADSHEETS = (".xlsx", ".xlsm", ".xls", ".ods")
MAX_ZIP_MEMBER = 50 * 1024 * 1024       # a bigger file inside a .zip is refused (zip bomb guard)
_UNSAFE = re.compile(r'[\x00-\x1f<>:"/\\|?*]+')


class Malformed(Exception):
    """The message cannot be taken apart (a broken .zip, an undecodable part)."""


@dataclass
class Found:
    """One spreadsheet found in a message."""

    name: str
    data: bytes
    origin_sender: str          # the From of the (possibly forwarded) message that carried it
    via: str = ""               # "zip tên.zip" when it came out of an archive


def address(header: str | None) -> str:
    """The bare e-mail address of a From header, lower case ('' when none)."""
    pairs = getaddresses([str(header or "")])
    return pairs[0][1].strip().lower() if pairs and pairs[0][1] else ""


def decoded(text: str | None) -> str:
    """A header or file name with RFC 2047 encoded words decoded, NFC."""
    text = str(text or "")
    if "=?" in text:
        try:
            text = str(make_header(decode_header(text)))
        except (UnicodeError, LookupError, ValueError):
            pass
    return unicodedata.normalize("NFC", text)


def safe_name(name: str) -> str:
    """A file name safe on Windows and POSIX: no folders, no reserved characters."""
    base = re.split(r"[/\\]", decoded(name))[-1]
    base = _UNSAFE.sub("_", base).strip(" .")
    return base or "tep-dinh-kem.xlsx"


def _zip_name(info: zipfile.ZipInfo) -> str:
    if info.flag_bits & 0x800:          # names flagged UTF-8
        return info.filename
    raw = info.filename.encode("cp437")
    for enc in ("utf-8", "cp1258"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    return info.filename


def _from_zip(name: str, data: bytes, origin: str) -> list[Found]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        found = []
        for info in archive.infolist():
            inner = _zip_name(info)
            base = inner.rsplit("/", 1)[-1]
            if info.is_dir() or not base.lower().endswith(SPREADSHEETS) or base.startswith(("~$", ".", "__MACOSX")) \
                    or "__MACOSX/" in inner:
                continue
            if info.file_size > MAX_ZIP_MEMBER:
                raise Malformed(f"tệp {base} trong {name} quá lớn khi giải nén ({info.file_size // 1_000_000} MB)")
            with archive.open(info) as fh:
                content = fh.read(MAX_ZIP_MEMBER + 1)
            if len(content) > MAX_ZIP_MEMBER:
                raise Malformed(f"tệp {base} trong {name} quá lớn khi giải nén")
            found.append(Found(base, content, origin, via=f"zip {name}"))
        return found
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError, RuntimeError, ValueError) as exc:
        raise Malformed(f"tệp nén {name} bị hỏng hoặc có mật khẩu ({exc})") from exc


# An RFC 2231 extended parameter: filename*=utf-8''B%C3%A1o.xlsx, or a continuation filename*0*=...
_EXTENDED = re.compile(r"""(?:^|;)\s*(?:file)?name\*(\d+\*|\*)?\s*=\s*("[^"]*"|[^;]*)""", re.I)
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def _check_extended(part: Message) -> None:
    """Refuse a file name written as an RFC 2231 extended value that does not decode: a % not followed by two hex
    digits, an unknown charset, bytes invalid in it. (The e-mail library keeps such a name half-decoded, e.g.
    «Báo%ZZ.xlsx»: nothing is saved under a name that is not the one the unit gave.)"""
    raws = [str(v) for k, v in part.raw_items() if k.lower() in ("content-disposition", "content-type")]
    for raw in raws:                   # as written in the message, before the library's lenient decoding
        for piece, value in _EXTENDED.findall(" ".join(raw.split())):
            value = value.strip().strip('"')
            charset, quote, rest = value.partition("'")
            text = rest.partition("'")[2] if quote else value
            if _BAD_ESCAPE.search(text):
                raise Malformed(f"tên tệp đính kèm mã hóa sai (RFC 2231): «{value[:60]}»")
            if quote and charset and not piece[:1].isdigit():     # a continuation is decoded whole, below
                try:
                    from urllib.parse import unquote_to_bytes
                    unquote_to_bytes(text).decode(charset)
                except (LookupError, UnicodeDecodeError):
                    raise Malformed(f"tên tệp đính kèm mã hóa sai (RFC 2231, bảng mã «{charset}»): "
                                    f"«{value[:60]}»") from None


def _filename(part: Message) -> str:
    _check_extended(part)
    name = part.get_filename() or part.get_param("name", header="content-type") or ""
    if isinstance(name, tuple):          # an RFC 2231 triple left undecoded by an old-style policy
        from email.utils import collapse_rfc2231_value
        name = collapse_rfc2231_value(name)
    if "\ufffd" in name:
        raise Malformed(f"tên tệp đính kèm không giải mã được: «{name[:60]}»")
    return decoded(name)


def _walk(part: Message, origin: str):
    if part.get_content_type() == "message/rfc822":
        payload = part.get_payload()
        for inner in payload if isinstance(payload, list) else [payload]:
            if isinstance(inner, Message):
                yield from _walk(inner, address(inner.get("From")) or origin)
        return
    if part.is_multipart():
        for sub in part.get_payload():
            yield from _walk(sub, origin)
        return
    name = _filename(part)
    if not name:
        return
    low = name.lower()
    if low.endswith(SPREADSHEETS) or low.endswith(".zip"):
        data = part.get_payload(decode=True)
        if data is None:
            raise Malformed(f"không giải mã được tệp đính kèm {name}")
        bad = [d for d in part.defects if "Base64" in type(d).__name__]
        if bad:                        # the library decoded what it could: those bytes are not the unit's file
            raise Malformed(f"tệp đính kèm {name} mã hóa base64 sai ({type(bad[0]).__name__}); không lưu phần "
                            "giải mã dở")
        if low.endswith(".zip"):
            yield from _from_zip(name, data, origin)
        else:
            yield Found(name, data, origin)


def spreadsheets(msg: Message) -> list[Found]:
    """Every spreadsheet the message carries, in order (the same bytes once)."""
    seen, out = set(), []
    for found in _walk(msg, address(msg.get("From"))):
        key = hashlib.sha256(found.data).digest()
        if key not in seen:
            seen.add(key)
            out.append(found)
    return out
