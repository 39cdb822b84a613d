"""The verdict a read file gets, and which valid file counts for its unit and round (consolidation and re-judging)."""
from __future__ import annotations

from thidua.intake.result import SubmissionResult
from thidua.store import proposals as store_proposals
from thidua.store import submissions
from thidua.store.store import Store


def initial_status(result: SubmissionResult, plan_rounds: set, units: dict) -> str:
    """unreadable, rejected (errors, or no known unit/round), or superseded: valid; resolve() picks the one that counts."""
    if result.unreadable:
        return "unreadable"
    if result.n_errors or not result.unit or result.round not in plan_rounds or result.unit not in units:
        return "rejected"
    return "superseded"


def resolve(store: Store, pairs) -> None:
    """Make the current submission of each (unit, round) `accepted`; its proposals follow it."""
    store_proposals.refresh_many(store, submissions.resolve(store, pairs))
