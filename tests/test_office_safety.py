"""Issue 11: key safety, re-judging, nothing vanishes, clean text, backup — each by the real commands on real files."""
from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest

from conftest import TEST_KEY, need_libreoffice
from thidua.store.store import Store
from thidua.store.verdicts import verdict_history

UNITS = 12


def run(*args, home: Path, key_env: Path | None = None) -> subprocess.CompletedProcess:
    """`python -m thidua ARGS` with its own HOME (so ~/.thidua/office.key is never the developer's)."""
    env = {k: v for k, v in os.environ.items() if k != "THIDUA_KEY_FILE"}
    env["HOME"] = str(home)
    if key_env is not None:
        env["THIDUA_KEY_FILE"] = str(key_env)
    return subprocess.run([sys.executable, "-m", "thidua", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=600)


def fp(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:16]


@pytest.fixture(scope="module")
def inbox(tmp_path_factory, plan, units):
    """A simulated Q1 inbox of 12 units (late, wrong, corrected and copied files), signed with TEST_KEY."""
    from thidua.demo.simulate import YearRates, simulate_year
    root = tmp_path_factory.mktemp("inbox")
    rates = YearRates(missing=0.1, late=0.2, mistakes=0.3, corrected=0.6, copy=0.2, adhoc=0.0)
    simulate_year(plan, units[:UNITS], TEST_KEY, root / "hop-thu", rng_seed=11, rounds=["Q1"], rates=rates)
    return root / "hop-thu"


@pytest.fixture
def office(tmp_path):
    """A HOME, the right key file and a wrong one."""
    right = tmp_path / "right.key"
    right.write_text(TEST_KEY.hex() + "\n", encoding="ascii")
    return tmp_path, right


def history(db: Path, home: Path) -> list[dict]:
    done = run("history", "--db", db, "--json", home=home)
    assert done.returncode == 0, done.stderr
    return [{k: r[k] for k in ("unit", "round", "status", "n_errors", "file_name", "sha256")}
            for r in json.loads(done.stdout)]


# ---------------------------------------------------------------- key safety
def test_validation_and_consolidation_never_create_a_key(tmp_path, inbox):
    home = tmp_path
    one = sorted(inbox.rglob("*.xlsx"))[0]
    for args in (("consolidate", inbox, "--db", tmp_path / "t.db"), ("validate", one)):
        done = run(*args, home=home)
        assert done.returncode == 2, done.stdout
        assert "Lỗi:" in done.stderr and "Thử:" in done.stderr and "Traceback" not in done.stderr
    assert not (home / ".thidua").exists()                     # no key created
    assert not (tmp_path / "t.db").exists()                    # nothing written


def test_key_new_and_show(tmp_path, office, inbox):
    home, right = office
    key = tmp_path / "k" / "office.key"
    done = run("key", "new", "--key", key, "--db", tmp_path / "none.db", home=home)
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    made = bytes.fromhex(key.read_text().strip())
    assert len(made) == 32 and fp(made) in done.stdout
    shown = run("key", "show", "--key", key, home=home)
    assert shown.returncode == 0 and fp(made) in shown.stdout
    again = run("key", "new", "--key", key, home=home)                  # never replaces a key
    assert again.returncode == 2 and "Lỗi:" in again.stderr and key.read_text().strip() == made.hex()

    db = tmp_path / "thidua.db"
    done = run("consolidate", inbox, "--db", db, "--key", right, home=home)
    assert done.returncode == 0, done.stderr
    with Store.open(db, create=False) as store:                            # fingerprint recorded in the store
        assert store.meta("key_fingerprint") == fp(TEST_KEY)
    shown = run("key", "show", "--key", right, "--db", db, home=home)
    assert fp(TEST_KEY) in shown.stdout and "khớp" in shown.stdout

    other = tmp_path / "other.key"                                         # a store signed with another key exists
    refused = run("key", "new", "--key", other, "--db", db, home=home)
    assert refused.returncode == 2 and "Thử:" in refused.stderr and not other.exists()

    templates = tmp_path / "bieu-mau"                                      # templates signed with another key exist
    done = run("templates", "--round", "Q1", "--out", templates, "--units", "CD001", "--key", right, home=home)
    assert done.returncode == 0, done.stderr
    fresh = tmp_path / "fresh.key"
    refused = run("templates", "--round", "Q1", "--out", templates, "--key", fresh, "--db", tmp_path / "x.db",
                  home=home)
    assert refused.returncode == 2 and not fresh.exists()
    first = run("templates", "--round", "Q1", "--out", tmp_path / "moi", "--units", "CD001", "--key", fresh,
                "--db", tmp_path / "x.db", home=home)                   # the very first templates: key created
    assert first.returncode == 0, first.stderr
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o600 and "dấu vân tay" in first.stderr

    # a different key on a store already judged with the right one: Lỗi/Thử, exit 2, nothing written
    before = history(db, home)
    wrong = run("consolidate", inbox, "--db", db, "--key", key, home=home)
    assert wrong.returncode == 2 and "Lỗi:" in wrong.stderr and "Thử:" in wrong.stderr
    assert "Traceback" not in wrong.stderr
    assert history(db, home) == before
    with Store.open(db, create=False) as store:
        assert store.meta("key_fingerprint") == fp(TEST_KEY)


# ---------------------------------------------------------------- re-judging
def without_key_ids(inbox: Path, out: Path) -> Path:
    """A copy of the inbox as templates made before key ids: the «key» row of `_meta` left blank."""
    import re
    import shutil
    shutil.copytree(inbox, out)
    for path in out.rglob("*.xlsx"):
        try:
            with zipfile.ZipFile(path) as zin:
                parts = [(i, zin.read(i)) for i in zin.infolist()]
        except zipfile.BadZipFile:           # the inbox's broken files stay as they are
            continue
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
            for info, body in parts:
                if info.filename == "xl/sharedStrings.xml":
                    body = re.sub(rb"<t>" + fp(TEST_KEY).encode() + rb"</t>", b"<t></t>", body)
                zout.writestr(info, body)
    return out


def run_clean(inbox: Path, db: Path, key: Path, home: Path) -> Path:
    assert run("consolidate", inbox, "--db", db, "--key", key, home=home).returncode == 0
    return db


def test_another_key_is_told_apart_from_a_modified_file(tmp_path, office, inbox, plan, units):
    """Templates carry their key's id: a file signed with another key is M012 («ký bằng khóa khác»), never M004
    («đã bị sửa»); `validate` without a store refuses to guess which key is the office's; with a store that
    records the office's key, one message for the run and no feedback file accusing a unit."""
    from thidua.intake.validate import validate_file
    home, right = office
    other = tmp_path / "other.key"
    assert run("key", "new", "--key", other, home=home).returncode == 0
    files = sorted(inbox.rglob("*.xlsx"))
    register = {u.code: u for u in units}
    codes = {i.code for p in files for i in validate_file(p, plan, bytes.fromhex(other.read_text()), register).issues}
    assert "M012" in codes and "M004" not in codes
    # a leftover key and no store: refused, nothing written
    feedback = tmp_path / "phan-hoi"
    done = run("validate", inbox, "--feedback", feedback, "--db", tmp_path / "none.db", "--key", other, home=home)
    assert done.returncode == 2 and "Lỗi:" in done.stderr and "Thử:" in done.stderr and fp(TEST_KEY) in done.stderr
    assert "không biết khóa nào đúng" in done.stderr and not feedback.exists()
    # the store says the other key is the office's: the files are foreign, one message, no feedback for them
    db = tmp_path / "thidua.db"
    with Store.open(db) as store:
        store.set_meta("key_fingerprint", fp(bytes.fromhex(other.read_text())))
    done = run("validate", inbox, "--feedback", feedback, "--db", db, "--key", other, home=home)
    assert done.returncode == 1, done.stderr
    assert done.stderr.count("khóa khác") == 1 and "đơn vị" in done.stderr
    assert not list(feedback.glob("*.xlsx")) if feedback.exists() else True
    assert "M012" in done.stdout and "M004" not in done.stdout
    # the right key with that store: it is not the office's recorded key
    done = run("validate", inbox, "--db", db, "--key", right, home=home)
    assert done.returncode == 2 and "không phải khóa của văn phòng" in done.stderr


def test_templates_without_a_key_id_still_verify(tmp_path, office, inbox, plan, units):
    from thidua.intake.validate import validate_file
    old = without_key_ids(inbox, tmp_path / "old")
    register = {u.code: u for u in units}
    for path in sorted(old.rglob("*.xlsx")):
        result = validate_file(path, plan, TEST_KEY, register)
        assert result.key_id is None and not {"M004", "M012"} & {i.code for i in result.issues}, path
        wrong = validate_file(path, plan, b"another-key-0123456789", register)
        if result.unit:
            assert "M004" in {i.code for i in wrong.issues}
def test_a_wrong_key_then_the_right_one_rejudges_with_history(tmp_path, office, inbox):
    home, right = office
    wrong = tmp_path / "wrong.key"
    assert run("key", "new", "--key", wrong, home=home).returncode == 0

    clean_db = tmp_path / "clean" / "thidua.db"                          # what the right key says from the start
    assert run("consolidate", inbox, "--db", clean_db, "--key", right, home=home).returncode == 0
    want = history(clean_db, home)
    assert {"accepted", "rejected"} <= {r["status"] for r in want}

    db = tmp_path / "thidua.db"
    # templates that name their key: a first run with another key is refused, nothing recorded
    refused = run("consolidate", inbox, "--db", db, "--key", wrong, "--json", home=home)
    assert refused.returncode == 2 and "khóa khác" in refused.stderr and not db.exists(), refused.stderr
    # templates made before key ids (none named): the old way, every file «tampered», then re-judged
    inbox = without_key_ids(inbox, tmp_path / "old")
    want = None
    first = run("consolidate", inbox, "--db", db, "--key", wrong, "--json", home=home)
    assert first.returncode == 0, first.stderr
    got = history(db, home)
    signed = {r["sha256"] for r in got if r["status"] != "unreadable"}
    assert {r["status"] for r in got} <= {"rejected", "unreadable"}       # every unit's file "tampered"
    with Store.open(db, create=False) as store:
        tampered = {r["sha256"] for r in store.rows(
            "SELECT s.sha256 FROM submissions s JOIN issues i ON i.submission_id = s.id WHERE i.code = 'M004'")}
    assert tampered == signed and len(signed) >= UNITS // 2

    second = run("consolidate", inbox, "--db", db, "--key", right, home=home)
    assert second.returncode == 0, second.stderr
    assert "Đã kiểm tra lại" in second.stdout and "khóa" in second.stdout       # it says so
    want = history(run_clean(inbox, tmp_path / "clean-old" / "thidua.db", right, home), home)
    assert history(db, home) == want                                      # statuses right
    with Store.open(db, create=False) as store:                            # history kept
        rows = verdict_history(store)
        assert store.meta("key_fingerprint") == fp(TEST_KEY)
        ids = {r["id"]: r["sha256"] for r in store.rows("SELECT id, sha256 FROM submissions")}
    assert {ids[r["submission_id"]] for r in rows} == signed
    assert all(r["old_status"] == "rejected" and "M004" in r["old_issues"] for r in rows)
    assert {r["new_status"] for r in rows} >= {"accepted"}
    assert all(r["key_fingerprint"] == fp(TEST_KEY) for r in rows)

    again = run("rejudge", "--db", db, "--key", right, "--json", home=home)   # nothing more to change
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert report["n_files"] == len(got) and report["changed"] == []


def test_a_changed_plan_rejudges_by_itself(tmp_path, office, inbox):
    """One rule changed in the plan: consolidation notices the plan's fingerprint, judges the archive again."""
    from thidua.plan.model import read_toml_tables
    from thidua.plan.units import read_csv_rows
    from thidua.workbook.build import build_bytes
    home, right = office
    db = tmp_path / "thidua.db"
    assert run("consolidate", inbox, "--db", db, "--key", right, home=home).returncode == 0
    tables = read_toml_tables()
    bound = next(r for r in tables["indicators"] if r["code"] == "ND5_CBCCVC")
    bound["max"] = 5                                                     # nobody's head count fits any more
    book = tmp_path / "ThiDua.xlsm"
    book.write_bytes(build_bytes(tables, read_csv_rows()))
    done = run("consolidate", inbox, "--db", db, "--workbook", book, "--key", right, home=home)
    assert done.returncode == 0, done.stderr
    assert "kế hoạch" in done.stdout and "Đã kiểm tra lại" in done.stdout
    statuses = {r["status"] for r in history(db, home)}
    assert "accepted" not in statuses


# ---------------------------------------------------------------- nothing vanishes
def test_every_file_of_the_inbox_is_in_the_report(tmp_path, office, inbox):
    import shutil
    home, right = office
    box = tmp_path / "hop-thu"
    shutil.copytree(inbox, box)
    real = sorted(box.rglob("*.xlsx"))[0]
    shutil.copy(real, box / ".bao-cao-an.xlsx")                        # a hidden spreadsheet: read, not dropped
    (box / ".an").mkdir()
    shutil.copy(real, box / ".an" / "trong-thu-muc-an.xlsx")
    for name in ("~$bao cao.xlsx", ".~lock.bao cao.xlsx#", "._bao cao.xlsx", "Thumbs.db", "desktop.ini",
                 "ghi chu.txt"):
        (box / name).write_bytes(b"x")
    (box / "hong.xlsx").symlink_to(box / "khong-co.xlsx")               # cannot even be opened
    done = run("consolidate", box, "--db", tmp_path / "thidua.db", "--key", right, "--json", home=home)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    listed = {r["file"]: r for r in report["files"]} | {r["file"]: r for r in report["skipped"]}
    on_disk = {str(Path(d) / n) for d, _, names in os.walk(box) for n in names}
    assert set(listed) == on_disk                                      # every file appears, none twice
    assert len(report["files"]) + len(report["skipped"]) == len(on_disk)
    reasons = {Path(r["file"]).name: r["reason"] for r in report["skipped"]}
    simulated = {p.name for p in inbox.rglob("~$*")}                 # the simulator's own lock file
    assert set(reasons) == {"~$bao cao.xlsx", ".~lock.bao cao.xlsx#", "._bao cao.xlsx", "Thumbs.db", "desktop.ini",
                            "ghi chu.txt"} | simulated
    assert all(reasons.values())
    assert "khóa tạm" in reasons["~$bao cao.xlsx"] and "hệ điều hành" in reasons["Thumbs.db"]
    assert listed[str(box / ".bao-cao-an.xlsx")]["status"] == "duplicate"
    assert listed[str(box / ".an" / "trong-thu-muc-an.xlsx")]["status"] == "duplicate"
    broken = listed[str(box / "hong.xlsx")]
    assert broken["status"] == "unreadable" and "Không đọc được" in broken["note"]


def test_feedback_files_never_overwrite_one_another(tmp_path, office, inbox):
    import shutil
    home, right = office
    box = tmp_path / "hop-thu"
    by_content = {hashlib.sha256(f.read_bytes()).hexdigest(): f for f in sorted(inbox.rglob("*.xlsx"))}
    files = list(by_content.values())[:6]                              # six different files
    for i, f in enumerate(files):                                      # every unit's file named the same
        (box / f"thu-{i}").mkdir(parents=True)
        shutil.copy(f, box / f"thu-{i}" / "Bao cao quy 1.xlsx")
    out = tmp_path / "phan-hoi"
    done = run("validate", box, "--feedback", out, "--json", "--key", right, home=home)
    results = [r for r in json.loads(done.stdout) if r["status"] != "skipped"]
    made = sorted(out.glob("*.xlsx"))
    assert len(results) == 6 and len(made) == 6                        # one feedback file per file received
    for r in results:
        name = f"{r['unit']}_{r['round']}_{r['sha256'][:8]}_phan-hoi.xlsx" if r["unit"] else None
        assert name is None or (out / name).exists()


def test_a_temporary_left_by_a_killed_run_is_removed(tmp_path, office, inbox):
    home, right = office
    out = tmp_path / "bao-cao"
    out.mkdir()
    target = out / "TongHop_Q1.xlsx"
    killed = subprocess.run([sys.executable, "-c", (
        "import os, signal, sys; from thidua.fileio import atomic_path\n"
        f"with atomic_path({str(target)!r}) as tmp:\n"
        "    tmp.write_bytes(b'half a workbook')\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n")], capture_output=True)
    assert killed.returncode == -9
    left = list(out.glob(".TongHop_Q1.*.tmp.xlsx"))
    assert len(left) == 1                                              # what a killed run leaves behind
    old = out / ".TongHop_Q1.abc123.tmp.xlsx"                          # an older version's name, hours old
    old.write_bytes(b"old")
    os.utime(old, (1_500_000_000, 1_500_000_000))
    done = run("consolidate", inbox, "--db", tmp_path / "thidua.db", "--out", out, "--round", "Q1", "--key", right,
               home=home)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["TongHop_Q1.xlsx"]


def test_writing_templates_sweeps_the_folder_of_a_killed_run_once(tmp_path, office):
    """A folder of many outputs is swept once (not once per file): temporaries of a killed run go, live ones stay."""
    home, right = office
    out = tmp_path / "t"
    out.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = out / f".Q1_CD001_x.{dead.stdout.strip()}.abcd.tmp.xlsx"          # its process is gone
    stale.write_bytes(b"half a template")
    live = out / f".Q1_CD002_y.{os.getpid()}.abcd.tmp.xlsx"                  # a process still running
    live.write_bytes(b"being written")
    done = run("templates", "--round", "Q1", "--out", out, "--units", "CD001,CD002", "--key", right, home=home)
    assert done.returncode == 0, done.stderr
    assert not stale.exists() and live.exists()
    assert len(list(out.glob("Q1_*.xlsx"))) == 2


# ---------------------------------------------------------------- clean text
def test_invisible_characters_are_removed_with_a_warning(tmp_path, office, plan, units):
    from thidua.demo.simulate import input_cells, realistic_values
    import random
    home, right = office
    done = run("templates", "--round", "Q1", "--out", tmp_path / "t", "--units", "CD001", "--key", right, home=home)
    assert done.returncode == 0, done.stderr
    template = next((tmp_path / "t").glob("*.xlsx"))
    from thidua.templates import spec as S
    spec = S.template_spec(plan, "Q1")
    values = realistic_values(plan, "Q1", units[0], random.Random(3))
    places = input_cells(spec)
    wb = openpyxl.load_workbook(template)
    for addr, value in values.items():
        sheet, cell, _ = places[addr]
        wb[sheet][cell] = value
    reporter = next(a for a in values if a.field == "info.reporter")
    sheet, cell, _ = places[reporter]
    wb[sheet][cell] = "\ufeffNguyễn\u200b Thị\u200d LanBELL"
    saved = tmp_path / "saved.xlsx"
    wb.save(saved)
    filled = tmp_path / "hop-thu" / "cd001.xlsx"                  # a BEL control character, the way Excel
    filled.parent.mkdir()                                        # stores one: escaped as _x0007_ in the XML
    with zipfile.ZipFile(saved) as src, zipfile.ZipFile(filled, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item).replace(b"LanBELL", b"Lan_x0007_"))
    done = run("validate", filled, "--json", "--key", right, home=home)
    result = json.loads(done.stdout)[0]
    warn = [i for i in result["issues"] if i["code"] == "V019"]
    assert len(warn) == 1 and warn[0]["severity"] == "warning" and warn[0]["cell"] == cell
    assert "U+200B" in warn[0]["message"] and "BOM" in warn[0]["message"] and "U+0007" in warn[0]["message"]
    stored = next(v["value"] for v in result["values"] if v["field"] == "info.reporter")
    assert stored == "Nguyễn Thị Lan"
    db = tmp_path / "thidua.db"
    assert run("consolidate", filled.parent, "--db", db, "--key", right, home=home).returncode == 0
    with Store.open(db, create=False) as store:
        assert store.scalar("SELECT value_text FROM cell_values WHERE field = 'info.reporter'") == "Nguyễn Thị Lan"


def test_a_control_character_in_a_unit_name_keeps_the_stamped_xml_well_formed(tmp_path, office):
    import csv
    from xml.dom import minidom
    from thidua.plan.units import read_csv_rows
    home, right = office
    rows = read_csv_rows()[:2]
    rows[0]["name"] = "CĐCS Trường\x01 THPT\x07 Lê Lợi\u200b"
    register = tmp_path / "don-vi.csv"
    with register.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    done = run("templates", "--round", "Q1", "--out", tmp_path / "t", "--register", register, "--key", right,
               home=home)
    assert done.returncode == 0, done.stderr
    stamped = sorted((tmp_path / "t").glob("*.xlsx"))[0]
    with zipfile.ZipFile(stamped) as zf:
        for name in zf.namelist():
            if name.endswith((".xml", ".rels")):
                minidom.parseString(zf.read(name))                        # raises on ill-formed XML
    wb = openpyxl.load_workbook(stamped)
    texts = [c for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for c in row if isinstance(c, str)]
    assert any("CĐCS Trường THPT Lê Lợi" in t for t in texts)
    need_libreoffice()
    from thidua.reports.libreoffice import convert
    pdf = convert(stamped, "pdf", tmp_path / "pdf")
    assert Path(pdf).stat().st_size > 1000


# ---------------------------------------------------------------- backup
def _values(path: Path) -> list[list]:
    """Every cell of every sheet; the minute the workbook was written («Số liệu tổng hợp đến 20:41 ngày …») left out,
    so that two workbooks written a minute apart compare equal."""
    wb = openpyxl.load_workbook(path, data_only=True)
    written = re.compile(r"Số liệu tổng hợp đến \d{1,2}:\d{2} ngày \d{2}/\d{2}/\d{4}")
    return [[ws.title, *[[written.sub("Số liệu tổng hợp đến …", v) if isinstance(v, str) else v for v in r]
                         for r in ws.iter_rows(values_only=True)]] for ws in wb.worksheets]


def test_backup_then_restore_gives_identical_outputs(tmp_path, office, inbox):
    home, right = office
    db = tmp_path / "a" / "thidua.db"
    done = run("consolidate", inbox, "--db", db, "--key", right, "--out", tmp_path / "a" / "bao-cao", home=home)
    assert done.returncode == 0, done.stderr
    status = run("status", "--db", db, "--json", home=home)
    assert status.returncode == 0
    done = run("backup", "--out", tmp_path / "sao-luu", "--db", db, "--key", right, home=home)
    assert done.returncode == 0, done.stderr
    zips = list((tmp_path / "sao-luu").glob("thidua-sao-luu-*.zip"))
    assert len(zips) == 1 and stat.S_IMODE(zips[0].stat().st_mode) == 0o600
    with zipfile.ZipFile(zips[0]) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        assert manifest["key_fingerprint"] == fp(TEST_KEY)
        assert sum(n.startswith("luu-tru/") for n in manifest["members"]) == manifest["counts"]["files"] > 0

    db2, key2 = tmp_path / "b" / "thidua.db", tmp_path / "b" / "office.key"
    done = run("restore", zips[0], "--db", db2, "--key", key2, home=home)
    assert done.returncode == 0, done.stderr
    assert key2.read_bytes() == right.read_bytes() and stat.S_IMODE(key2.stat().st_mode) == 0o600
    again = run("status", "--db", db2, "--json", home=home)
    assert again.stdout == status.stdout
    done = run("consolidate", inbox, "--db", db2, "--key", key2, "--out", tmp_path / "b" / "bao-cao", home=home)
    assert done.returncode == 0, done.stderr
    assert "Đã kiểm tra lại" not in done.stdout
    assert _values(tmp_path / "b" / "bao-cao" / "TongHop_Q1.xlsx") == _values(tmp_path / "a" / "bao-cao" / "TongHop_Q1.xlsx")

    refused = run("restore", zips[0], "--db", db2, "--key", key2, home=home)       # never over a store silently
    assert refused.returncode == 2 and "--force" in refused.stderr
    broken = tmp_path / "hong.zip"                                                 # a damaged backup is refused
    with zipfile.ZipFile(zips[0]) as src, zipfile.ZipFile(broken, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            dst.writestr(item, data[:-1] + bytes([data[-1] ^ 1]) if item.filename == "thidua.db" else data)
    refused = run("restore", broken, "--db", tmp_path / "c" / "thidua.db", "--key", tmp_path / "c" / "k", home=home)
    assert refused.returncode == 2 and "hỏng" in refused.stderr and not (tmp_path / "c" / "thidua.db").exists()
