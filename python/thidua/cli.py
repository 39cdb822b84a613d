"""The command line: a thin face over the core; domain errors become `Lỗi: ... Thử: ...`."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __version__
from .errors import ThiDuaError


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--plan", help="kế hoạch thi đua: tệp .toml hoặc sổ làm việc .xlsm (mặc định: kế hoạch 2019 đi kèm)")
    p.add_argument("--register", help="danh sách đơn vị: tệp .csv hoặc sổ làm việc .xlsm (mặc định: mẫu đi kèm)")
    p.add_argument("--workbook", help="sổ làm việc ThiDua2019.xlsm: đọc cả kế hoạch và danh sách đơn vị từ đó")
    p.add_argument("--key", help="tệp khóa bí mật của văn phòng (mặc định: $THIDUA_KEY_FILE hoặc ~/.thidua/office.key)")


def load_context(args):
    """The plan and register named by --workbook / --plan / --register (bundled defaults otherwise)."""
    from .plan import load_plan
    from .units import load_units
    plan = load_plan(args.plan or args.workbook)
    units = load_units(args.register or args.workbook)
    return plan, units


def cmd_templates(args) -> int:
    from .signing import load_key
    from .templates import write_templates
    from .units import select_units
    plan, units = load_context(args)
    chosen = select_units(units, args.units)
    paths = write_templates(plan, args.round, chosen, args.out, load_key(args.key))
    print(f"Đã tạo {len(paths)} biểu mẫu kỳ {args.round} trong {args.out}")
    return 0


def cmd_blank_templates(args) -> int:
    from .templates import write_blank_templates
    plan, _ = load_context(args)
    paths = write_blank_templates(plan, args.out)
    print(f"Đã tạo {len(paths)} biểu mẫu trống trong {args.out}")
    return 0


def cmd_demo(args) -> int:
    from .demo import run_demo
    return run_demo(Path(args.out), quiet=args.quiet)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="thidua", description="ThiDua: báo cáo, tổng hợp và xếp loại thi đua của CĐVC tỉnh.")
    parser.add_argument("--version", action="version", version=f"thidua {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("templates", help="tạo biểu mẫu điền sẵn cho từng đơn vị của một kỳ báo cáo")
    p.add_argument("--round", required=True, help="mã kỳ báo cáo: DK, Q1, Q2, SK1, Q3, Q4, TK, DX")
    p.add_argument("--out", required=True, help="thư mục ghi biểu mẫu")
    p.add_argument("--units", help="chỉ các đơn vị này: mã cách nhau bởi dấu phẩy")
    _common(p)
    p.set_defaults(func=cmd_templates)

    p = sub.add_parser("blank-templates", help="tạo biểu mẫu trống của mọi kỳ (thư mục templates/)")
    p.add_argument("--out", default="templates", help="thư mục ghi (mặc định: templates)")
    _common(p)
    p.set_defaults(func=cmd_blank_templates)

    p = sub.add_parser("demo", help="chạy thử toàn bộ quy trình trên dữ liệu mẫu")
    p.add_argument("--out", default="demo-output", help="thư mục kết quả (mặc định: demo-output)")
    p.add_argument("--quiet", action="store_true", help="không in tiến trình")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except ThiDuaError as exc:
        print(f"Lỗi: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"Thử: {exc.hint}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("Đã dừng theo yêu cầu.", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
