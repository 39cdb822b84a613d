"""Project-wide rules: cell addresses live only in spec.py; every module says what it is for."""
from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "python" / "thidua"
ADDRESS = re.compile(r"^\$?[A-Z]{1,3}\$?[1-9][0-9]{0,6}(:\$?[A-Z]{1,3}\$?[0-9]+)?$|^[A-Z]{1,3}\{")


def _codes(plan, units) -> set[str]:
    """Codes of the plan and register that look like addresses (Q1, TC1, SK1) but are not."""
    codes = {r.code for r in plan.rounds} | {c.code for c in plan.criteria} | {u.code for u in units}
    return codes | {lv.code for rs in plan.rule_sets for lv in rs.levels}


def test_no_cell_address_outside_the_spec(plan, units):
    allowed = _codes(plan, units)
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "spec.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = node.value
                if ADDRESS.match(text) and text not in allowed:
                    offenders.append(f"{path.name}:{node.lineno}: {text!r}")
    assert not offenders, "cell addresses outside spec.py:\n" + "\n".join(offenders)


def test_every_module_has_a_one_line_docstring():
    for path in sorted(PACKAGE.rglob("*.py")):
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
        if path.name == "__init__.py" and path.parent.name == "data":
            continue
        assert doc and doc.strip(), f"{path.name} has no docstring"
