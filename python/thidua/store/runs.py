"""Consolidation runs: started (an earlier run still marked running was interrupted), progress, finished."""
from __future__ import annotations

from thidua.store.store import Store, now_iso


def start_run(store: Store, inbox: str, command: str, by: str | None = None) -> int:
    """A new run (by whom); an earlier one still marked running was interrupted (runs hold the run lock)."""
    with store.atomic():
        store.conn.execute("UPDATE runs SET status='interrupted' WHERE status='running'")
        return store.insert("runs", {"started_at": now_iso(), "inbox": inbox, "command": command, "started_by": by})


def set_progress(store: Store, run_id: int, n_new: int) -> None:
    store.conn.execute("UPDATE runs SET n_new=? WHERE id=?", (n_new, run_id))


def finish_run(store: Store, run_id: int, n_seen: int, n_new: int) -> None:
    with store.atomic():
        store.conn.execute("UPDATE runs SET finished_at=?, n_seen=?, n_new=?, status='done' WHERE id=?",
                           (now_iso(), n_seen, n_new, run_id))
