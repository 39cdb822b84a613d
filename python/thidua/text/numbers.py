"""Numbers as a Vietnamese reader writes them: 1.797.000.000; 84,5; 85,4% (the one formatter of every text)."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

THOUSANDS = "."
DECIMAL = ","


def format_number(value: float, decimals: int = 6, keep_zeros: bool = False) -> str:
    """`value` with `.` between thousands and `,` before decimals, rounded half up to `decimals`
    places; trailing zeros dropped unless `keep_zeros` (1234567.5 -> '1.234.567,5'; 2.0 -> '2')."""
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise TypeError(f"not a number: {value!r}")
    if isinstance(value, float) and value != value:
        return "–"
    exact = Decimal(value) if isinstance(value, int) else Decimal(str(value))
    if exact.is_infinite():
        return "∞" if exact > 0 else "-∞"
    quantum = Decimal(1).scaleb(-decimals)
    rounded = exact.quantize(quantum, rounding=ROUND_HALF_UP) if decimals >= 0 else exact
    sign = "-" if rounded < 0 else ""
    whole, _, frac = f"{abs(rounded):f}".partition(".")
    if not keep_zeros:
        frac = frac.rstrip("0")
    groups = f"{int(whole):,}".replace(",", THOUSANDS)
    return sign + groups + (DECIMAL + frac if frac else "")


def format_percent(ratio: float, decimals: int = 1, keep_zeros: bool = True) -> str:
    """A ratio as a percentage: 0.854 -> '85,4%'; 1 -> '100,0%' (`keep_zeros=False`: '100%')."""
    return format_number(ratio * 100, decimals, keep_zeros) + "%"


def format_seconds(seconds: float) -> str:
    """A duration for a progress line: 12.345 -> '12,3'."""
    return format_number(seconds, 1, keep_zeros=True)
