"""Key safety: a new office key only when nothing was signed with another one; its fingerprint kept in the store."""
from __future__ import annotations

from pathlib import Path

from thidua.errors import ThiDuaError
from thidua.templates.signing import fingerprint, key_path, load_key, new_key


def _store_fingerprint(db) -> tuple[bool, str | None]:
    """(the store holds files, the key fingerprint it recorded) for an existing store (a path, a URL or a
    locator); (False, None) otherwise."""
    if db is None or not _exists(db):
        return False, None
    from thidua.store import verdicts as V
    from thidua.store.store import Store
    with Store.open(db, create=False) as store:
        return V.has_submissions(store), store.meta("key_fingerprint")


def _signed_templates(folders) -> list[Path]:
    found: list[Path] = []
    for folder in folders or ():
        if folder and Path(folder).is_dir():
            found += sorted(Path(folder).rglob("*.xlsx"))[:3]
    return found


def create_office_key(path: str | Path | None = None, db=None, templates=()) -> bytes:
    """`thidua key new`: create the key only when no store or template was signed with another one."""
    target = key_path(path)
    if target.exists():
        raise ThiDuaError(f"Đã có tệp khóa {target}; không tạo khóa mới.",
                          "Dùng khóa đó («thidua key show» xem dấu vân tay).")
    has_files, recorded = _store_fingerprint(db)
    if has_files or recorded:
        raise ThiDuaError(
            f"Kho dữ liệu {db} đã có tệp nhận về, ký bằng khóa của văn phòng"
            + (f" (dấu vân tay {recorded})" if recorded else "") + "; khóa mới sẽ làm mọi tệp đó thành «bị sửa».",
            "Khôi phục tệp khóa cũ từ bản sao lưu (thidua restore) rồi chỉ đến nó bằng --key hoặc $THIDUA_KEY_FILE.")
    signed = _signed_templates(templates)
    if signed:
        raise ThiDuaError(f"Thư mục {signed[0].parent} đã có biểu mẫu ký bằng một khóa khác ({signed[0].name}); "
                          "khóa mới sẽ không nhận ra chúng.",
                          "Khôi phục tệp khóa cũ từ bản sao lưu, hoặc xóa các biểu mẫu cũ nếu chưa gửi cho đơn vị.")
    key = new_key(target)
    if db is not None and _exists(db):
        record_key(db, key)
    return key


def key_for_templates(path: str | Path | None, db, out: Path, say=print) -> bytes:
    """The key that signs new templates; the very first time (no key, nothing signed yet) it is created."""
    if key_path(path).exists():
        return load_key(path)
    key = create_office_key(path, db, [out])
    say(f"Đã tạo khóa mới của văn phòng {key_path(path)} (dấu vân tay {fingerprint(key)}). "
        "Hãy sao lưu tệp này (thidua backup): mất khóa thì không nhận ra được biểu mẫu đã gửi.")
    return key


def _exists(db) -> bool:
    from thidua.store.store import exists
    return exists(db)


def record_key(db, key: bytes) -> None:
    from thidua.store.store import Store
    with Store.open(db) as store:
        store.set_meta("key_fingerprint", fingerprint(key))


def describe(path: str | Path | None = None, db=None) -> list[str]:
    """`thidua key show`: where the key is, its fingerprint, and the one the store recorded."""
    key = load_key(path)
    lines = [f"Tệp khóa: {key_path(path)}", f"Dấu vân tay: {fingerprint(key)}"]
    _, recorded = _store_fingerprint(db)
    if recorded:
        verdict = "khớp" if recorded == fingerprint(key) else "KHÁC khóa này"
        lines.append(f"Kho dữ liệu {db} ghi dấu vân tay {recorded} ({verdict}).")
    return lines


def check_key_ids(named: dict[str, int], key: bytes, db, where: str) -> None:
    """Before anything is written: refuse to guess which key is the office's.

    `named`: key id -> how many files of `where` name it (templates before key ids name none). When files name a
    key other than the one in use, the store's recorded fingerprint says which is the office's: without one, or
    when the key in use is not the recorded one, stop with Lỗi/Thử; when the key in use is the office's, those
    files were signed by someone else's key (reported per file, M012)."""
    mine = fingerprint(key)
    others = {k: n for k, n in named.items() if k and k != mine}
    _, recorded = _store_fingerprint(db)
    if recorded and recorded != mine:
        raise ThiDuaError(f"Khóa đang dùng (dấu vân tay {mine}) không phải khóa của văn phòng mà kho dữ liệu {db} "
                          f"ghi ({recorded}). Chưa ghi gì.",
                          "Dùng đúng tệp khóa của văn phòng bằng --key hoặc $THIDUA_KEY_FILE (xem «thidua key show»); "
                          "khôi phục khóa từ bản sao lưu nếu máy mới.")
    if others and not recorded:
        ids = ", ".join(f"{k} ({n} tệp)" for k, n in sorted(others.items(), key=lambda kv: -kv[1]))
        raise ThiDuaError(f"{sum(others.values())} tệp trong {where} được ký bằng khóa khác: {ids}; khóa đang dùng "
                          f"({key_path_hint()}) có dấu vân tay {mine}. Chưa có kho dữ liệu ghi khóa của văn phòng nên "
                          "không biết khóa nào đúng; chưa ghi gì, không tệp phản hồi nào được tạo.",
                          "Chỉ đúng tệp khóa của văn phòng bằng --key hoặc $THIDUA_KEY_FILE («thidua key show» cho biết "
                          "dấu vân tay), hoặc chỉ kho dữ liệu tổng hợp bằng --db.")


def key_path_hint() -> str:
    """Where the key in use was read from, for a message."""
    return str(key_path(None))
