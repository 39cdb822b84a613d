"""Load the plan and the register from any source, by file suffix: TOML/CSV files or the master workbook."""
from __future__ import annotations

from pathlib import Path

from thidua.errors import ThiDuaError
from thidua.plan.model import Plan, read_toml_tables
from thidua.plan.units import Unit, iter_csv_rows, read_csv_rows, units_from_rows
from thidua.workbook import layout

PLAN_READERS = {".toml": read_toml_tables, ".xlsm": layout.read_plan_tables, ".xlsx": layout.read_plan_tables}
REGISTER_READERS = {".csv": iter_csv_rows, ".xlsm": layout.read_register_rows, ".xlsx": layout.read_register_rows}


def load_plan(source: str | Path | None = None) -> Plan:
    """Load the plan from the bundled default, a TOML file, or the master workbook."""
    if source is None:
        return Plan.from_tables(read_toml_tables())
    path = Path(source)
    reader = PLAN_READERS.get(path.suffix.lower())
    if reader is None:
        raise ThiDuaError(f"Không biết đọc kế hoạch từ tệp {path.name}.", "Dùng tệp .toml hoặc sổ làm việc .xlsm.")
    return Plan.from_tables(reader(path))


def load_units(source: str | Path | None = None) -> list[Unit]:
    """Load the register from the bundled sample, a CSV file, or the master workbook."""
    if source is None:
        return units_from_rows(read_csv_rows())
    path = Path(source)
    reader = REGISTER_READERS.get(path.suffix.lower())
    if reader is None:
        raise ThiDuaError(f"Không biết đọc danh sách đơn vị từ {path.name}.", "Dùng tệp .csv hoặc sổ làm việc .xlsm.")
    return units_from_rows(reader(path))
