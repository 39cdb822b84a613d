"""Build a consolidated store for tests from plain Python data, with direct inserts (no files read)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Iterable, Mapping

from thidua.store import proposals as store_proposals
from thidua.store.store import Store



def new_store(path: Path, plan, units: Iterable) -> Store:
    """An empty store with the schema, the register's units and the plan's rounds."""
    from thidua.store.register import sync_plan
    store = Store.open(path)
    sync_plan(store, plan, list(units))
    return store


def add_submission(store: Store, unit: str, rnd: str, received_at: str | dt.datetime,
                   indicators: Mapping[str, Any] | None = None, scores: Mapping[str, float] | None = None,
                   proposals: Iterable[Mapping[str, Any]] = (), status: str = "accepted",
                   source: str = "file") -> int:
    """One submission with its indicator values ('ind.CODE'), self-scores ('score.TCn') and proposals."""
    received = received_at.isoformat(timespec="seconds") if isinstance(received_at, dt.datetime) else received_at
    sha = f"{unit}-{rnd}-{received}-{status}-{store.scalar('SELECT count(*) FROM files')}"
    store.insert("files", {"sha256": sha, "archive_path": f"archive/{sha}.xlsx", "size": 0, "first_seen": received})
    sid = store.insert("submissions", {"sha256": sha, "unit": unit, "round": rnd, "template_version": "2019.1",
                                       "received_at": received, "received_source": source, "file_mtime": received,
                                       "status": status, "file_name": f"{unit}_{rnd}.xlsx"})
    rows = []
    for code, value in (indicators or {}).items():
        rows.append(_value_row(sid, "Chỉ tiêu", f"ind.{code}", value))
    for code, value in (scores or {}).items():
        rows.append(_value_row(sid, "Tự chấm điểm", f"score.{code}", value))
    store.insert_many("cell_values", rows)
    store_proposals.insert_rows(store, sid, unit, rnd, proposals)
    return sid


def _value_row(sid: int, sheet: str, field: str, value: Any) -> dict:
    num = txt = date = None
    if isinstance(value, (dt.date, dt.datetime)):
        date = value.isoformat()[:10]
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        num = float(value)
    else:
        txt = str(value)
    return {"submission_id": sid, "sheet": sheet, "cell": "X1", "field": field, "row": None, "value_num": num,
            "value_text": txt, "value_date": date}


def plan_of_year(plan, year: int):
    """The plan moved to another year, as `thidua new-year` moves it (year/rollover.py)."""
    from thidua.plan.model import Plan
    from thidua.year.rollplan import roll_plan
    return Plan.from_tables(roll_plan(plan.tables, plan.year, year)[0])


def synthetic_units(n: int, clusters: tuple[str, ...] = ("Khối Giáo dục", "Khối Y tế", "Khối Quản lý nhà nước",
                                                             "Khối Văn hóa - Xã hội")) -> list:
    """`n` made-up units spread over the clusters; every 50th founded late in the year (not yet eligible)."""
    from thidua.plan.units import Unit
    return [Unit(f"S{i:05d}", f"CĐCS Đơn vị số {i}", clusters[i % len(clusters)], 20 + i % 200, 18 + i % 190,
                 f"s{i}@example.org", dt.date(2019, 9, 1) if i % 50 == 49 else dt.date(2000, 1, 1))
            for i in range(n)]


def synthetic_store(path: Path, plan, units: list, seed: int = 7, proposals_every: int = 5) -> Path:
    """A store with every unit reporting most rounds (some late, some missing) and random figures."""
    import random
    rng = random.Random(seed)
    store = new_store(path, plan, units)
    for rnd in plan.rounds:
        for unit in units:
            if rnd.kind == "adhoc" or rng.random() < 0.06:
                continue
            late = rng.random() < 0.15
            day = rnd.due + dt.timedelta(days=rng.randint(1, 9) if late else -rng.randint(0, 9))
            when = dt.datetime.combine(day, dt.time(rng.randint(7, 22), rng.randint(0, 59)))
            inds: dict[str, Any] = {}
            for ind in plan.indicators_for(rnd.code):
                if ind.type == "bool":
                    inds[ind.code] = "Có" if rng.random() < 0.9 else "Không"
                elif ind.type == "date":
                    inds[ind.code] = rnd.start + dt.timedelta(days=rng.randint(0, 20))
                elif ind.type == "money":
                    inds[ind.code] = rng.randint(0, 50) * 100000
                else:
                    inds[ind.code] = rng.randint(0, 30)
            inds["ND5_CBCCVC"], inds["ND5_DOANVIEN"] = unit.staff, unit.members
            scores = ({c.code: round(rng.uniform(0.4, 1.0) * c.max_points * 2) / 2 for c in plan.criteria}
                      if "selfscore" in rnd.sheets else None)
            props = []
            if "proposals" in rnd.sheets and rng.randrange(proposals_every) == 0:
                props.append({"subject": "Cá nhân", "name": rng.choice(("Nguyễn Thị Ánh", "Trần Văn Bình",
                                                                        "Lê Đức Anh", "Phạm Thị Ân")),
                              "title": "Chiến sĩ thi đua cơ sở", "form": "Giấy khen của Công đoàn Viên chức tỉnh",
                              "dat_ldtt": "Có", "co_sang_kien": rng.choice(("Có", "Không")), "ky_luat": "Không",
                              "summary": "Hoàn thành xuất sắc nhiệm vụ"})
            add_submission(store, unit.code, rnd.code, when, inds, scores, props)
    store.close()
    return path
