"""The register of units and the plan's rounds as kept in the store (a store holds one year)."""
from __future__ import annotations

from typing import Iterable

from thidua.store import history
from thidua.store.store import Store


SYNCED = "register_synced"      # meta: the fingerprint of the plan and register last synced


def _iso(d):
    return d.isoformat() if d else None


def sync_plan(store: Store, plan, units, synced: str | None = None) -> None:
    """Upsert the register and the rounds (the plan and register may change during the year), a unit at a time,
    and record the store's year with the plan's tables. A store of another year is refused before anything is
    written. `synced`: a fingerprint of this plan and register; when the store says it synced the same last time,
    nothing is written (a national register is 100,000 rows)."""
    history.check_year(store, plan.year, store.name)
    if synced is not None and store.meta(SYNCED) == synced:
        return
    with store.atomic():
        store.upsert("units", ({"code": u.code, "name": u.name, "cluster": u.cluster, "staff": u.staff,
                                "members": u.members, "email": u.email, "founded": _iso(u.founded),
                                "status": getattr(u, "status", "active"), "successor": getattr(u, "successor", "")
                                or None} for u in units),
                     key=("code",))
        store.upsert("rounds", [{"code": r.code, "name": r.name, "kind": r.kind, "period": r.period,
                                 "start": _iso(r.start), "end": _iso(r.end), "due": _iso(r.due), "year": plan.year}
                                for r in plan.rounds],
                     key=("code",))
        history.set_year(store, plan.year)
        if plan.tables is not None:
            history.record_year(store, plan.year, plan.tables)
        store.set_meta(SYNCED, synced)


def order_units(store: Store, codes: Iterable[str]) -> None:
    """The units an output lists, in its order, as the connection's temporary table `unit_order (pos, unit)`: the
    queries of that listing join it (streamed in that order: no sort of the store, nothing held in memory)."""
    conn = store.conn
    conn.execute(store.ddl("CREATE TEMP TABLE IF NOT EXISTS unit_order (pos INTEGER PRIMARY KEY, unit TEXT NOT NULL)"))
    with store.scratch():
        conn.execute("DELETE FROM unit_order")
        conn.executemany("INSERT INTO unit_order (pos, unit) VALUES (?, ?)", enumerate(codes))
    store.analyze("unit_order")


def stored_units(store: Store) -> list[dict]:
    """The register as kept in the store (a previous year's units may differ from this year's), by code."""
    return store.rows("SELECT * FROM units ORDER BY code")


def unit_codes(store: Store) -> set[str]:
    return {r["code"] for r in store.rows("SELECT code FROM units")}
