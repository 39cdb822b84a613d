"""Faults beyond files, each made for real: a full disk (a small tmpfs that fills up), a read-only store (chmod, a
read-only mount), SIGKILL at random moments of backup, restore and rejudge, a store written by a newer version, a
store on a network file system (sshfs). Every command ends with «Lỗi … / Thử …» naming the real cause and no
traceback, and after the fault is removed a re-run gives what an uninterrupted run gives.

Killed sends against a real SMTP server are in test_mail.py (its servers and register)."""
from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest

import faultfs
from conftest import ROOT, TEST_KEY, need_libreoffice
from test_kill import consistent, count, snapshot

UNITS = 40
pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="mounts, capabilities and SIGKILL: Linux")


# ---------------------------------------------------------------- running the commands
def environment(root: Path, key: Path) -> dict:
    """The commands' environment: this tree's code, the office key, and a private temporary folder (so that
    anything a command leaves in /tmp is seen)."""
    tmp = root / "tmp"
    tmp.mkdir(exist_ok=True)
    return dict(os.environ, PYTHONPATH=str(ROOT / "python"), THIDUA_KEY_FILE=str(key), TMPDIR=str(tmp),
                HOME=str(root), THIDUA_CHUNK="6")


def thidua(office, *args, obey: bool = False) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "thidua", *map(str, args)], capture_output=True, text=True,
                          env=office.env, timeout=600, preexec_fn=faultfs.obey_permissions if obey else None)


def start(office, *args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "thidua", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=office.env, start_new_session=True)


def ok(res: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert res.returncode == 0, (res.returncode, res.stdout, res.stderr)
    assert "Traceback" not in res.stderr and "Exception ignored" not in res.stderr, res.stderr
    return res


def fault(res: subprocess.CompletedProcess, *words: str) -> str:
    """A fault reported as it must be: exit 2, «Lỗi: …» then «Thử: …», no traceback; `words` all in it."""
    err = res.stderr
    assert res.returncode == 2, (res.returncode, res.stdout, err)
    assert err.startswith("Lỗi: ") and "\nThử: " in err, err
    assert "Traceback" not in err and "Exception ignored" not in err, err
    for word in words:
        assert word in err, (word, err)
    print(err.strip())
    return err


def tree(folder: Path) -> dict[str, str]:
    """Every file under `folder` (relative path -> sha256), hidden ones included."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def leftovers(folder: Path) -> list[str]:
    """Temporaries under `folder`: hidden `.name.pid.random.tmp…` files or folders, the first backup code's."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                  if (p.name.startswith(".") and ".tmp" in p.name)
                  or p.name.startswith(("thidua-backup-", "thidua-restore-")))


def no_temporaries(office) -> list[str]:
    """What the commands left in their temporary folder (the system's /tmp for them)."""
    return sorted(p.name for p in (office.root / "tmp").iterdir())


def archive_whole(db: Path) -> None:
    """No empty or partial file under a final name in the archive: each copy's content hash is its name."""
    root = db.with_name(db.stem + "-luu-tru")
    for p in root.rglob("*"):
        if p.is_file() and not p.name.startswith("."):
            assert hashlib.sha256(p.read_bytes()).hexdigest() == p.name.split(".")[0], p


def values(path: Path) -> list:
    import openpyxl
    wb = openpyxl.load_workbook(path, data_only=True)
    return [[ws.title, *[list(r) for r in ws.iter_rows(values_only=True)]] for ws in wb.worksheets]


@pytest.fixture(scope="module")
def office(tmp_path_factory, plan, units):
    """A simulated inbox (Q1 and SK1 of 40 units), the office key, and the reference: an uninterrupted
    consolidation on a local disk (its store snapshot and status)."""
    from thidua.demo.simulate import YearRates, simulate_year
    root = tmp_path_factory.mktemp("faults")
    simulate_year(plan, units[:UNITS], TEST_KEY, root / "hop-thu", rng_seed=5, rounds=["Q1", "SK1"],
                  rates=YearRates(mistakes=0.2, corrected=0.5, copy=0.05, adhoc=0.0))
    key = root / "office.key"
    key.write_text(TEST_KEY.hex() + "\n", encoding="ascii")
    o = SimpleNamespace(root=root, inbox=root / "hop-thu", key=key, env=environment(root, key))
    o.ref = root / "ref" / "thidua.db"
    ok(thidua(o, "consolidate", o.inbox, "--db", o.ref))
    o.snap = snapshot(o.ref)
    o.status = ok(thidua(o, "status", "--db", o.ref, "--json")).stdout
    return o


def same_as_reference(office, db: Path, reference: tuple | None = None) -> None:
    """`db` holds what the uninterrupted run gave (`reference`: another run's (snapshot, status))."""
    snap, status = reference or (office.snap, office.status)
    assert consistent(db) == []
    assert snapshot(db) == snap
    assert ok(thidua(office, "status", "--db", db, "--json")).stdout == status
    archive_whole(db)


@pytest.fixture(scope="module")
def q1_then_all(office, tmp_path_factory) -> tuple:
    """The uninterrupted run from a store that had seen only Q1: the whole inbox consolidated into it."""
    db = q1_store(office, tmp_path_factory.mktemp("q1-then-all"))
    ok(thidua(office, "consolidate", office.inbox, "--db", db))
    return snapshot(db), ok(thidua(office, "status", "--db", db, "--json")).stdout


def copy_store(office, folder: Path) -> Path:
    """The reference store and its archive copied into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "thidua.db"
    src = sqlite3.connect(office.ref)
    dst = sqlite3.connect(db)
    src.backup(dst)
    src.close()
    dst.close()
    shutil.copytree(office.ref.with_name("thidua-luu-tru"), folder / "thidua-luu-tru")
    return db


def q1_store(office, folder: Path) -> Path:
    """A store that has seen only Q1: consolidating the whole inbox into it has work to do."""
    inbox = office.root / "chi-q1"
    if not inbox.exists():
        shutil.copytree(office.inbox / "Q1", inbox / "Q1")
    db = folder / "thidua.db"
    ok(thidua(office, "consolidate", inbox, "--db", db))
    return db


# ---------------------------------------------------------------- a full disk
def test_consolidation_on_a_full_disk(office, tmp_path):
    """Too little room: refused before any file is read, with the room needed. A disk that fills up in the middle
    of the run: «Ổ đĩa đầy», the store stays consistent; with the room back, the re-run equals the reference."""
    disk = tmp_path / "o-dia"
    with faultfs.tmpfs(disk, 2 << 20):
        db = disk / "thidua.db"
        err = fault(thidua(office, "consolidate", office.inbox, "--db", db), "không đủ chỗ trống", str(disk),
                    "cần khoảng")
        assert " MB" in err and count(db) == 0 and leftovers(disk) == []

        faultfs.resize(disk, 24 << 20)
        proc = start(office, "consolidate", office.inbox, "--db", db)
        began = time.monotonic()
        while count(db) < 6 and proc.poll() is None and time.monotonic() - began < 120:
            time.sleep(0.002)
        filler = faultfs.fill(disk)                     # another program takes the rest of the disk
        out, err = proc.communicate(timeout=300)
        if proc.returncode == 0:
            pytest.fail(f"the run ended before the disk was full ({count(db)} files stored)")
        fault(subprocess.CompletedProcess(proc.args, proc.returncode, out, err), "Ổ đĩa đầy", str(disk))
        stored = count(db)
        assert 0 < stored < len(office.snap["submissions"]), stored
        assert consistent(db) == []
        archive_whole(db)
        status = ok(thidua(office, "status", "--db", db, "--json"))             # reading works on a full disk
        assert len(json.loads(status.stdout)) == len(json.loads(office.status))
        fault(thidua(office, "consolidate", office.inbox, "--db", db), "Ổ đĩa đầy", str(db))
        filler.unlink()                                 # the fault removed
        ok(thidua(office, "consolidate", office.inbox, "--db", db))
        same_as_reference(office, db)
        assert leftovers(disk) == []


def test_outputs_on_a_full_disk(office, tmp_path):
    """summary, templates, feedback and backup on a full disk: «Lỗi … Thử …» with where and how much, nothing
    under a final name, no temporary left; with room, the re-run writes what an uninterrupted run writes."""
    ref = tmp_path / "ref"
    ok(thidua(office, "summary", "--db", office.ref, "--period", "1", "--out", ref / "so-ket.xlsx"))
    ok(thidua(office, "templates", "--round", "Q2", "--out", ref / "bieu-mau", "--db", office.ref))
    q1 = office.inbox / "Q1"
    assert thidua(office, "validate", q1, "--feedback", ref / "phan-hoi").returncode == 1
    disk = tmp_path / "o-dia"
    with faultfs.tmpfs(disk, 4 << 20):
        filler = faultfs.fill(disk)
        commands = {
            "summary": ("summary", "--db", office.ref, "--period", "1", "--out", disk / "so-ket.xlsx"),
            "templates": ("templates", "--round", "Q2", "--out", disk / "bieu-mau", "--db", office.ref),
            "feedback": ("validate", q1, "--feedback", disk / "phan-hoi"),
            "backup": ("backup", "--db", office.ref, "--out", disk / "sao-luu"),
        }
        for args in commands.values():
            fault(thidua(office, *args), "Ổ đĩa đầy", str(disk), "Giải phóng ít nhất")
        assert [p.name for p in disk.rglob("*") if p.is_file()] == [filler.name]
        filler.unlink()
        faultfs.resize(disk, 64 << 20)
        ok(thidua(office, *commands["summary"]))
        assert values(disk / "so-ket.xlsx") == values(ref / "so-ket.xlsx")
        ok(thidua(office, *commands["templates"]))
        assert tree(disk / "bieu-mau") == tree(ref / "bieu-mau")
        assert thidua(office, *commands["feedback"]).returncode == 1
        assert sorted(tree(disk / "phan-hoi")) == sorted(tree(ref / "phan-hoi"))
        ok(thidua(office, *commands["backup"]))
        (zip_file,) = (disk / "sao-luu").glob("thidua-sao-luu-*.zip")
        from thidua.store.backup import check
        assert check(zip_file).manifest["counts"]["files"] == len(office.snap["files"])
        assert leftovers(disk) == [] and no_temporaries(office) == []


def test_summary_pdf_on_a_full_disk(office, tmp_path, monkeypatch):
    """summary --pdf: the workbook fits, the PDF does not: refused with the room a PDF needs. And when the
    estimate is beaten (the disk fills while LibreOffice writes), LibreOffice's cut-off PDF — which it reports
    as a success — is caught: nothing under the final name, «Ổ đĩa đầy»."""
    need_libreoffice()
    ref = tmp_path / "ref"
    ok(thidua(office, "summary", "--db", office.ref, "--period", "1", "--out", ref / "so-ket.xlsx", "--pdf"))
    disk = tmp_path / "o-dia"
    with faultfs.tmpfs(disk, (ref / "so-ket.xlsx").stat().st_size + (256 << 10)):
        fault(thidua(office, "summary", "--db", office.ref, "--period", "1", "--out", disk / "so-ket.xlsx",
                     "--pdf"), "so-ket.pdf", str(disk), "cần khoảng")
        assert (disk / "so-ket.xlsx").is_file() and not (disk / "so-ket.pdf").exists() and leftovers(disk) == []

        from thidua import faults
        from thidua.errors import ThiDuaError
        from thidua.reports import libreoffice
        monkeypatch.setattr(libreoffice, "OUTPUT_FACTOR", 0)          # the estimate beaten
        filler = faultfs.fill(disk, leave=32 << 10)
        with pytest.raises(ThiDuaError) as caught:
            libreoffice.convert(ref / "so-ket.xlsx", "pdf", disk)
        print(*faults.message_lines(caught.value), sep="\n")
        assert caught.value.message.startswith("Ổ đĩa đầy") and str(disk) in caught.value.message
        assert not (disk / "so-ket.pdf").exists() and leftovers(disk) == []
        filler.unlink()
        faultfs.resize(disk, 16 << 20)
        ok(thidua(office, "summary", "--db", office.ref, "--period", "1", "--out", disk / "so-ket.xlsx", "--pdf"))
        assert _pdf_text(disk / "so-ket.pdf") == _pdf_text(ref / "so-ket.pdf")
        assert leftovers(disk) == [] and no_temporaries(office) == []
        # killed while LibreOffice writes: its staging folder and profile stay; the next run removes them
        (disk / "so-ket.pdf").unlink()
        proc = start(office, "summary", "--db", office.ref, "--period", "1", "--out", disk / "so-ket.xlsx", "--pdf")
        assert faultfs.kill_at(proc, 0.3, lambda: any(disk.glob(".so-ket.*.tmp.pdf")))
        assert leftovers(disk) and no_temporaries(office) and not (disk / "so-ket.pdf").exists()
        ok(thidua(office, "summary", "--db", office.ref, "--period", "1", "--out", disk / "so-ket.xlsx", "--pdf"))
        assert leftovers(disk) == [] and no_temporaries(office) == []
        assert _pdf_text(disk / "so-ket.pdf") == _pdf_text(ref / "so-ket.pdf")


def _pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


# ---------------------------------------------------------------- a read-only store
def test_a_read_only_store_file_or_folder(office, tmp_path, q1_then_all):
    """chmod: the store file marked read-only, then its folder without write permission. Writing commands say
    which file and why and write nothing; reading commands still work; with the permission back, consolidation
    completes as an uninterrupted run."""
    faultfs.need_permissions()
    db = q1_store(office, tmp_path / "kho")
    before = tree(db.parent)
    sha = sqlite3.connect(db).execute("SELECT sha256 FROM files ORDER BY sha256 LIMIT 1").fetchone()[0]
    db.chmod(0o444)
    for args in (("consolidate", office.inbox, "--db", db), ("rejudge", "--db", db),
                 ("received", sha, "--at", "09/04/2019 08:30", "--db", db)):
        fault(thidua(office, *args, obey=True), f"Không ghi được kho dữ liệu {db}", "đánh dấu chỉ đọc", "chmod u+w")
    status = ok(thidua(office, "status", "--db", db, "--json", obey=True)).stdout
    assert len(json.loads(status)) > 0
    db.chmod(0o644)
    db.parent.chmod(0o555)
    try:
        for args in (("consolidate", office.inbox, "--db", db), ("rejudge", "--db", db)):
            fault(thidua(office, *args, obey=True), f"thư mục {db.parent} không cho phép ghi", "SQLite cần tạo")
        assert ok(thidua(office, "status", "--db", db, "--json", obey=True)).stdout == status
    finally:
        db.parent.chmod(0o755)
    assert tree(db.parent) == before                       # the refused commands wrote nothing
    ok(thidua(office, "consolidate", office.inbox, "--db", db, obey=True))
    same_as_reference(office, db, q1_then_all)


def test_a_store_on_a_read_only_mount(office, tmp_path, q1_then_all):
    """A copy of the store on a read-only medium (a bind mount remounted ro, as a CD or a read-only share):
    reading commands work, writing ones name the medium, and so does a summary written onto it. On a writable
    disk the same store consolidates as the reference."""
    src = q1_store(office, tmp_path / "dia-goc")
    cd = tmp_path / "dia-cd"
    with faultfs.bind_read_only(src.parent, cd):
        db = cd / "thidua.db"
        for args in (("consolidate", office.inbox, "--db", db), ("rejudge", "--db", db)):
            fault(thidua(office, *args), f"kho dữ liệu {db}", "gắn chỉ đọc", "ổ ghi được")
        status = ok(thidua(office, "status", "--db", db, "--json")).stdout
        assert status == ok(thidua(office, "status", "--db", src, "--json")).stdout
        fault(thidua(office, "summary", "--db", db, "--period", "1", "--out", cd / "so-ket.xlsx"),
              str(cd / "so-ket.xlsx"), "gắn chỉ đọc")
    ok(thidua(office, "consolidate", office.inbox, "--db", src))
    same_as_reference(office, src, q1_then_all)


# ---------------------------------------------------------------- a store written by a newer version
def mark_newer(db: Path) -> None:
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("INSERT INTO migrations (name, applied_at) VALUES ('9999_later_version', '2030-01-01T00:00:00')")
    conn.close()


def newer_backup(office, out: Path) -> Path:
    """A backup as a newer version's `thidua backup` writes it: its store knows a migration this one does not."""
    from thidua.store import backup as B
    data = out.parent / "moi.db"
    out.parent.mkdir(parents=True, exist_ok=True)
    data.write_bytes(B.snapshot(office.ref))
    mark_newer(data)
    store = data.read_bytes()
    data.unlink()
    members = {B.DB_MEMBER: store}
    root = office.ref.with_name("thidua-luu-tru")
    for p in sorted(root.rglob("*")):
        if p.is_file():
            members[B.ARCHIVE_DIR + str(p.relative_to(root.parent))] = p.read_bytes()
    members[B.KEY_MEMBER] = office.key.read_bytes()
    with zipfile.ZipFile(out, "w") as zf:
        for name, blob in members.items():
            zf.writestr(name, blob)
        zf.writestr(B.MANIFEST, json.dumps({
            "format": B.FORMAT, "key_fingerprint": hashlib.sha256(TEST_KEY).hexdigest()[:16],
            "members": {n: {"sha256": hashlib.sha256(b).hexdigest(), "size": len(b)} for n, b in members.items()}}))
    return out


def test_a_newer_store_and_a_newer_backup(office, tmp_path):
    """A store written by a newer version is refused by every command; restoring a backup of one is refused
    before anything is touched — even with --force: the store, the archive and the key stay byte for byte, no
    temporary is left."""
    newer = copy_store(office, tmp_path / "moi")
    mark_newer(newer)
    for args in (("status", "--db", newer), ("consolidate", office.inbox, "--db", newer)):
        fault(thidua(office, *args), "phiên bản ThiDua mới hơn", "9999_later_version")
    zip_path = newer_backup(office, tmp_path / "sao-luu" / "thidua-sao-luu-20300101-000000.zip")
    home = tmp_path / "van-phong"
    db = q1_store(office, home)
    key = home / "office.key"
    key.write_text(TEST_KEY.hex() + "\n")
    before = tree(home)
    for extra in ((), ("--force",)):
        fault(thidua(office, "restore", zip_path, "--db", db, "--key", key, *extra), "phiên bản ThiDua mới hơn",
              "chưa thay đổi gì")
        assert tree(home) == before
    assert no_temporaries(office) == []


# ---------------------------------------------------------------- SIGKILL at random moments
def kill_rounds(office, args, moments, after_each) -> int:
    """Start the command once per moment and SIGKILL it that many seconds after it started; `after_each(killed)`
    looks at what it left. Returns how many runs were killed (the others ended by themselves)."""
    killed = 0
    for moment in moments:
        proc = start(office, *args)
        if faultfs.kill_at(proc, moment):
            killed += 1
            after_each(True)
        else:
            _, err = proc.communicate()
            assert proc.returncode == 0, err
            after_each(False)
    return killed


def timed(office, *args) -> float:
    began = time.monotonic()
    ok(thidua(office, *args))
    return time.monotonic() - began


def test_killed_backups_leave_nothing_behind(office, tmp_path):
    """SIGKILL `thidua backup` while it writes the zip, at random points of it: never a zip under its final name
    that is not whole; the hidden temporaries of the killed runs are removed by the next backup, which equals an
    uninterrupted one."""
    from thidua.store.backup import check
    big = tmp_path / "hop-thu"                 # the inbox and a few large files (archived too): a longer write
    shutil.copytree(office.inbox, big)
    rng = random.Random(22)
    for i in range(6):
        (big / f"anh chup bao cao {i}.xlsx").write_bytes(rng.randbytes(3 << 20))
    db = tmp_path / "kho" / "thidua.db"
    ok(thidua(office, "consolidate", big, "--db", db))
    took = timed(office, "backup", "--db", db, "--out", tmp_path / "ref")
    (ref_zip,) = (tmp_path / "ref").glob("*.zip")
    size, reference = ref_zip.stat().st_size, check(ref_zip).manifest["members"]
    out = tmp_path / "sao-luu"
    out.mkdir()
    points = sorted(rng.uniform(0.02, 0.98) for _ in range(8))
    left = []
    for point in points:                       # killed once the zip being written has reached this share of its size
        proc = start(office, "backup", "--db", db, "--out", out)
        writing = lambda: any(p.stat().st_size >= point * size for p in out.glob(".thidua-sao-luu-*.tmp.zip"))
        if not faultfs.kill_at(proc, 0, writing):
            assert proc.wait() == 0
        for z in out.glob("thidua-sao-luu-*.zip"):          # a zip under its final name is always whole
            assert check(z).manifest["members"] == reference
            z.unlink()
        left += leftovers(out)
    print(f"backup: {took:.2f} s uninterrupted ({size / 1e6:.1f} MB); killed at {[round(p, 2) for p in points]} of "
          f"the zip; temporaries the killed runs left: {len(left)}")
    assert len(left) >= 3
    old_style = office.root / "tmp" / "thidua-backup-k3x9q1"     # what the first backup code left in /tmp
    (old_style / "thidua.db").parent.mkdir()
    (old_style / "thidua.db").write_bytes(db.read_bytes())
    os.utime(old_style, (time.time() - 7200, time.time() - 7200))
    ok(thidua(office, "backup", "--db", db, "--out", out))
    (zip_file,) = out.glob("*.zip")
    assert check(zip_file).manifest["members"] == reference
    assert leftovers(out) == [] and no_temporaries(office) == []


def test_killed_restores_leave_the_old_store_or_the_new_one(office, tmp_path):
    """SIGKILL `thidua restore --force` over an older store at random points (while the archive copies are written,
    around the swap): after each kill the store is the old one or the restored one, never a mix, and no empty or
    partial file sits under a final name; the next run removes the killed runs' temporaries and gives what an
    uninterrupted restore gives."""
    ok(thidua(office, "backup", "--db", office.ref, "--out", tmp_path / "sao-luu"))
    (zip_file,) = (tmp_path / "sao-luu").glob("*.zip")
    pristine = q1_store(office, tmp_path / "cu")
    old = snapshot(pristine)
    ref_db = copy_store_at(pristine, tmp_path / "ref")
    took = timed(office, "restore", zip_file, "--db", ref_db, "--key", ref_db.parent / "office.key", "--force")
    assert snapshot(ref_db) == office.snap
    reference = {k: v for k, v in tree(ref_db.parent).items() if not k.endswith(".lock")}

    db = copy_store_at(pristine, tmp_path / "van-phong")
    key, archive = db.parent / "office.key", db.parent / "thidua-luu-tru"
    kept = {p for p in archive.rglob("*") if p.is_file()}
    adding = len(office.snap["files"]) - len(kept)
    rng = random.Random(2019)
    points = sorted(rng.uniform(0.0, 1.3) for _ in range(12))
    states, left = [], []
    for point in points:
        inode = db.stat().st_ino

        def at_point() -> bool:      # a share of the archive copies written; then the store staged; then swapped
            if point > 1.15:
                return db.stat().st_ino != inode
            if point > 1:
                return any(db.parent.glob(".thidua.*.tmp.db"))
            return sum(1 for p in archive.rglob("*") if p.is_file() and not p.name.startswith(".")) \
                >= len(kept) + point * adding
        proc = start(office, "restore", zip_file, "--db", db, "--key", key, "--force")
        killed = faultfs.kill_at(proc, 0, at_point)
        if not killed:
            assert proc.wait() == 0
        snap = snapshot(db)
        states.append(("old" if snap == old else "new" if snap == office.snap else "MIX") + ("" if killed else "*"))
        assert "MIX" not in states[-1], states
        archive_whole(db)
        left += leftovers(db.parent)
        if snap != old:               # start the next run from the old store again (temporaries stay for the sweep)
            shutil.copy2(pristine, db)
            for p in archive.rglob("*"):
                if p.is_file() and not p.name.startswith(".") and p.with_name(p.name) not in kept:
                    p.chmod(0o644)
                    p.unlink()
    print(f"restore: {took:.2f} s uninterrupted, {adding} archive copies to add; killed at "
          f"{[round(p, 2) for p in points]}: {states} (* = ran to the end); temporaries left: {len(left)}")
    assert states.count("old") >= 3 and "new" in states and left
    res = ok(thidua(office, "restore", zip_file, "--db", db, "--key", key, "--force"))
    print(res.stdout.strip())
    assert snapshot(db) == office.snap and consistent(db) == []
    assert {k: v for k, v in tree(db.parent).items() if not k.endswith(".lock")} == reference
    assert leftovers(db.parent) == [] and no_temporaries(office) == []


def copy_store_at(db: Path, folder: Path) -> Path:
    folder.mkdir(parents=True)
    shutil.copy2(db, folder / db.name)
    shutil.copytree(db.with_name(db.stem + "-luu-tru"), folder / (db.stem + "-luu-tru"))
    return folder / db.name


def test_killed_rejudges_leave_the_verdicts_before_or_after(office, tmp_path, units):
    """SIGKILL at random moments of `thidua rejudge` with a changed register (five units gone): the store is the
    one before or the one after (one transaction); a re-run equals an uninterrupted re-judgement."""
    import csv
    from thidua.plan.units import read_csv_rows
    register = tmp_path / "don-vi.csv"
    rows = [r for r in read_csv_rows() if r["code"] in {u.code for u in units[:UNITS]}][:-5]
    with open(register, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    ref = copy_store(office, tmp_path / "ref")
    took = timed(office, "rejudge", "--db", ref, "--register", register)
    after_snap = snapshot(ref)
    assert after_snap != office.snap

    db = copy_store(office, tmp_path / "van-phong")
    wal = Path(str(db) + "-wal")
    rng = random.Random(7)
    states = []
    for n in range(8):              # at a random moment of the run, or as soon as its commit starts writing the log
        proc = start(office, "rejudge", "--db", db, "--register", register)
        began, moment = time.monotonic(), rng.uniform(0.2 * took, took)
        size = wal.stat().st_size if wal.exists() else 0
        trigger = (lambda: time.monotonic() - began >= moment) if n % 2 else \
            (lambda: wal.exists() and wal.stat().st_size > size)
        killed = faultfs.kill_at(proc, 0, trigger)
        if not killed:
            assert proc.wait() == 0
        snap = snapshot(db)
        states.append(("before" if snap == office.snap else "after" if snap == after_snap else "MIX")
                      + ("" if killed else "*"))
        assert "MIX" not in states[-1] and consistent(db) == [], states
        if snap != office.snap:       # the next run starts from before again
            db.unlink()
            copy_store(office, tmp_path / "tam").replace(db)
            shutil.rmtree(tmp_path / "tam")
    print(f"rejudge: {took:.2f} s uninterrupted; killed at random moments / as its commit wrote: {states} "
          "(* = ran to the end)")
    assert "before" in states and sum(not s.endswith("*") for s in states) >= 4
    ok(thidua(office, "rejudge", "--db", db, "--register", register))
    assert snapshot(db) == after_snap and consistent(db) == []


# ---------------------------------------------------------------- a network file system
def test_a_store_on_a_network_share_uses_the_rollback_journal(office, tmp_path):
    """The store on sshfs (a real network file system: no shared memory, no reliable locks) is recognised from
    the mount table and opened with journal_mode=DELETE — SQLite's WAL must not be used over a network file
    system — so no -wal/-shm ever appears beside it; a local WAL store copied there is converted; the results
    equal the reference."""
    share, mnt = tmp_path / "may-chu", tmp_path / "o-mang"
    with faultfs.sshfs(share, mnt, tmp_path / "ssh"):
        from thidua.volumes import volume
        vol = volume(mnt / "thidua.db")
        assert vol.fstype == "fuse.sshfs" and vol.remote and "ổ mạng" in vol.remote
        db = mnt / "thidua.db"
        proc = start(office, "consolidate", office.inbox, "--db", db)
        sides = set()
        while proc.poll() is None:
            sides |= {p.name for p in share.iterdir() if p.name.endswith(("-wal", "-shm"))}
            time.sleep(0.005)
        _, err = proc.communicate()
        assert proc.returncode == 0, err
        assert sides == set(), sides
        assert db.read_bytes()[18:20] == b"\x01\x01"        # the rollback journal, not WAL (file format, offset 18)
        same_as_reference(office, db)

        local = copy_store(office, tmp_path / "o-cung")
        sqlite3.connect(local).execute("PRAGMA journal_mode=WAL").fetchall()
        assert local.read_bytes()[18:20] == b"\x02\x02"      # WAL, as on the office's own disk
        shutil.copy2(local, mnt / "chep.db")
        shutil.copytree(local.with_name("thidua-luu-tru"), mnt / "chep-luu-tru")
        assert ok(thidua(office, "status", "--db", mnt / "chep.db", "--json")).stdout == office.status
        assert (mnt / "chep.db").read_bytes()[18:20] == b"\x01\x01"
        assert not any(p.name.endswith(("-wal", "-shm")) for p in share.iterdir())


MOUNTINFO = r"""22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
88 27 0:45 / /mnt/van\040phong rw,relatime - nfs4 nas.cdvc.local:/export/thidua rw,vers=4.2
89 27 0:46 / /mnt/chung rw,relatime - cifs //192.168.1.10/ThiDua rw,vers=3.1.1
90 88 0:47 / /mnt/van\040phong/cd ro,relatime - iso9660 /dev/sr0 ro
91 27 0:48 / /home/vp/OneDrive rw,nosuid - fuse.onedriver onedriver rw,user_id=1000
92 27 0:49 / /media/usb rw - fuseblk /dev/sdb1 rw
"""


def test_network_and_synced_folders_are_recognised(monkeypatch):
    """The mount table's types (NFS, CIFS, FUSE), the octal escapes of its paths, the deepest mount winning;
    OneDrive by its environment variable and synced folders by name; on Windows a UNC path or a mapped drive."""
    from thidua import volumes as V
    mounts = V.parse_mountinfo(MOUNTINFO)
    assert V.find_mount("/mnt/van phong/thidua.db", mounts)[1:] == ("nfs4", "nas.cdvc.local:/export/thidua", False)
    assert V.find_mount("/mnt/van phong/cd/thidua.db", mounts)[1:] == ("iso9660", "/dev/sr0", True)
    assert V.find_mount("/mnt/chung/a/b.db", mounts)[1] == "cifs"
    assert V.find_mount("/srv/thidua.db", mounts)[1] == "ext4"
    remote = {m[1] for m in mounts if m[1] in V.NETWORK_FS or (m[1].startswith("fuse.") and m[1] not in V.LOCAL_FUSE)}
    assert remote == {"nfs4", "cifs", "fuse.onedriver"}

    one = "/home/vp/Tài liệu/OneDrive - CĐVC Quảng Nam"
    monkeypatch.setenv("OneDrive", one)
    assert "OneDrive" in V.synced_folder(Path(one) / "ThiDua" / "thidua.db")
    assert V.synced_folder(Path("/home/vp/Tài liệu/ThiDua/thidua.db")) is None
    monkeypatch.delenv("OneDrive")
    assert V.synced_folder(Path("/home/vp/Dropbox/thidua.db"))
    monkeypatch.setattr(V, "_unc_of", lambda drive: r"\\MAYCHU\ThiDua")
    monkeypatch.setattr(V, "_volume_info", lambda root: ("NTFS", 0))
    monkeypatch.setattr(V, "_drive_type", lambda root: V.DRIVE_REMOTE)
    assert "ổ mạng ánh xạ" in V._windows_volume(Path("Z:/ThiDua/thidua.db"), 1, 2).remote
    monkeypatch.setattr(V, "_drive_type", lambda root: 3)            # DRIVE_FIXED
    assert V._windows_volume(Path("C:/ThiDua/thidua.db"), 1, 2).remote is None
    assert "ổ mạng" in V._windows_volume(Path(r"\\MAYCHU\ThiDua\thidua.db"), 1, 2).remote     # a UNC path


def test_two_backups_in_the_same_second_are_both_kept(office, tmp_path):
    """A backup taken in the same second as the previous one (a click, a consolidation, a click) gets its own
    name: the earlier zip is never replaced, and both are whole."""
    import datetime as dt
    from thidua.store.backup import backup, check
    db = copy_store_at(office.ref, tmp_path / "van-phong")
    moment = dt.datetime(2019, 12, 27, 16, 30, 5)
    first = backup(db, office.key, tmp_path / "sao-luu", now=moment)
    before = first.read_bytes()
    with sqlite3.connect(db) as con:                  # the store changes between the two clicks
        con.execute("INSERT INTO meta(key, value) VALUES ('between', 'x')")
    second = backup(db, office.key, tmp_path / "sao-luu", now=moment)
    assert (first.name, second.name) == ("thidua-sao-luu-20191227-163005.zip", "thidua-sao-luu-20191227-163005-2.zip")
    assert first.read_bytes() == before
    assert check(first).manifest["counts"] == check(second).manifest["counts"]
    assert check(first).manifest["members"]["thidua.db"]["sha256"] != check(second).manifest["members"]["thidua.db"]["sha256"]


def test_restoring_over_a_store_with_a_damaged_archive_keeps_that_store(office, tmp_path):
    """The workbook's restore backs up what it replaces; when that store's archive lost a file (often why one
    restores) no whole backup can be made, so the store itself is kept beside the backups before it is replaced."""
    from thidua.store.backup import backup
    from thidua.store.transfer import restore_keeping
    good = copy_store_at(office.ref, tmp_path / "tot")
    chosen = backup(good, office.key, tmp_path / "sao-luu")
    db = copy_store_at(office.ref, tmp_path / "van-phong")
    with sqlite3.connect(db) as con:
        con.execute("INSERT INTO meta(key, value) VALUES ('only_here', 'x')")
    lost = next(p for p in (db.parent / (db.stem + "-luu-tru")).rglob("*") if p.is_file())
    lost.unlink()
    done, kept = restore_keeping(chosen, db, office.key, tmp_path / "sao-luu")
    assert kept.name.startswith("thidua-truoc-khoi-phuc-") and kept.suffix == ".sqlite"
    with sqlite3.connect(kept) as con:
        assert con.execute("SELECT value FROM meta WHERE key = 'only_here'").fetchone() == ("x",)
    assert snapshot(db) == office.snap and lost.is_file() and done.added == 1


def test_restoring_onto_a_full_disk_keeps_the_store_in_place(office, tmp_path):
    """No room for the backup of what a restore would replace: the restore stops with «không đủ chỗ trống»
    before anything is replaced (a damaged archive does not turn the refusal into a restore without a copy)."""
    from thidua.errors import ThiDuaError
    from thidua.store.backup import backup
    from thidua.store.transfer import restore_keeping
    chosen = backup(copy_store_at(office.ref, tmp_path / "tot"), office.key, tmp_path / "sao-luu-ngoai")
    disk = tmp_path / "o-dia"
    with faultfs.tmpfs(disk, 64 << 20):
        db = copy_store_at(office.ref, disk / "van-phong")
        next(p for p in (db.parent / (db.stem + "-luu-tru")).rglob("*") if p.is_file()).unlink()
        before = snapshot(db)
        filler = faultfs.fill(disk, leave=16 << 10)
        for damaged in (True, False):
            with pytest.raises(ThiDuaError) as err:
                restore_keeping(chosen, db, office.key, disk / "sao-luu")
            assert "không đủ chỗ trống" in str(err.value) or "Ổ đĩa đầy" in str(err.value), str(err.value)
            assert snapshot(db) == before
            if damaged:                                  # the archive made whole again: the backup's own check
                filler.unlink()
                shutil.copytree(office.ref.parent / (office.ref.stem + "-luu-tru"), db.parent / (db.stem + "-luu-tru"),
                                dirs_exist_ok=True)
                filler = faultfs.fill(disk, leave=16 << 10)
