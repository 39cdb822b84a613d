"""Architecture rules checked on the source: SQL text only inside thidua/store/, no import cycles between modules."""
from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "python" / "thidua"
STORE = PACKAGE / "store"
SQL = re.compile(r"\bSELECT\b[\s\S]*\bFROM\b|\bINSERT\s+(OR\s+[A-Z]+\s+)?INTO\b|\bUPDATE\s+\S+\s+SET\b|\bDELETE\s+FROM\b"
                 r"|\b(CREATE|DROP|ALTER)\s+(TEMP\s+|TEMPORARY\s+|UNIQUE\s+)?(TABLE|INDEX|VIEW|TRIGGER)\b"
                 r"|\bPRAGMA\s+[a-z_]+|\bBEGIN\s+(IMMEDIATE|EXCLUSIVE|DEFERRED)\b|\bSAVEPOINT\b")


def _sources():
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path, ast.parse(path.read_text(encoding="utf-8"))


def _strings(tree):
    """Every string constant, with an f-string's literal parts joined (so a query split by {…} is still seen)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            yield node.lineno, " ".join(v.value for v in node.values if isinstance(v, ast.Constant)
                                        and isinstance(v.value, str))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value


def sql_outside_store(package: Path = PACKAGE) -> list[str]:
    offenders = []
    for path, tree in _sources():
        if STORE in path.parents:
            continue
        for line, text in _strings(tree):
            if SQL.search(text):
                offenders.append(f"{path.relative_to(package)}:{line}: {text[:60]!r}")
        for node in ast.walk(tree):        # and no second way into the database
            if isinstance(node, ast.Attribute) and node.attr == "connect" and \
                    isinstance(node.value, ast.Name) and node.value.id == "sqlite3":
                offenders.append(f"{path.relative_to(package)}:{node.lineno}: sqlite3.connect")
    return offenders


def test_the_sql_pattern_finds_queries_and_spares_prose():
    for sql in ("SELECT id FROM submissions", "INSERT OR REPLACE INTO meta VALUES (?, ?)",
                "UPDATE runs SET status='done'", "DELETE FROM proposals WHERE unit=?", "CREATE TEMP TABLE t (a)",
                "PRAGMA journal_mode=WAL", "SELECT s.unit, v.row\n FROM cell_values v"):
        assert SQL.search(sql), sql
    for text in ("Chọn (select) tệp từ hộp thư", "Update the workbook", "Đã tạo sổ làm việc", "from the store"):
        assert not SQL.search(text), text


def test_no_sql_text_outside_the_store():
    offenders = sql_outside_store()
    assert not offenders, "SQL outside thidua/store/ (write a typed query function in a store module):\n" + \
        "\n".join(offenders)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """{module: modules of the package it imports}, at any level (function-level imports included)."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(up + ([base] if base else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            for target in targets:
                while target and target not in modules:      # `import thidua.x.y` of a name inside a module
                    target = target.rpartition(".")[0]
                if target and target != name and not modules[target].name == "__init__.py":
                    graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_between_modules():
    graph = import_graph()
    assert "thidua.store.store" in graph["thidua.store.submissions"]     # the graph sees the imports
    assert "thidua.reports.committee" in graph["thidua.consolidate.run"]  # including function-level ones
    found = cycles(graph)
    assert not found, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in found)
