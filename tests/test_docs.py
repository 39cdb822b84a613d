"""The README stays true: two fresh-machine commands, CI runs the test one, every command documented."""
from __future__ import annotations

import re
from pathlib import Path

from thidua.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _fenced_commands() -> list[str]:
    return [block.strip() for block in re.findall(r"```\n(.*?)```", README, re.S) if block.strip().count("\n") == 0]


def test_readme_has_the_two_fresh_machine_commands():
    commands = _fenced_commands()
    demo = [c for c in commands if "thidua demo" in c]
    tests = [c for c in commands if "pytest" in c]
    assert len(demo) == 1 and " && pip install -r requirements.txt -e . && thidua demo --out demo-output" in demo[0]
    assert len(tests) == 1 and "apt-get install" in tests[0]
    for command in demo + tests:            # PEP 668: a venv with the system's python3, inside the command
        assert command.startswith("apt-get update && apt-get install -y python3-venv ")
        assert " && python3 -m venv .venv && . .venv/bin/activate && pip install -r requirements" in command


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    test_command = next(c for c in _fenced_commands() if "pytest" in c)
    assert test_command in ci.splitlines()


def test_every_command_is_documented():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, subparser in sub.choices.items():
        assert f"thidua {name}" in README, f"`thidua {name}` is not documented in README.md"
        for action in subparser._subparsers._group_actions if subparser._subparsers else []:
            for child in getattr(action, "choices", {}) or {}:
                assert f"thidua {name} {child}" in README, f"`thidua {name} {child}` is not documented"


def test_requirements_are_pinned():
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            assert re.fullmatch(r"[A-Za-z0-9_.\-]+==[0-9][A-Za-z0-9.]*( ; platform_system == \"Windows\")?", line), line


def test_console_command_and_module_entry_point():
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-m", "thidua", "--help"], capture_output=True, text=True, check=True).stdout
    assert "templates" in out and "consolidate" in out
    import shutil
    from pathlib import Path
    script = Path(sys.executable).with_name("thidua")     # where pip put the console script
    exe = str(script) if script.exists() else shutil.which("thidua")
    assert exe, "the `thidua` console command is not installed: pip install -e ."
    version = subprocess.run([exe, "--version"], capture_output=True, text=True, check=True).stdout
    assert version.startswith("thidua ")


def test_unwritable_output_is_a_message_not_a_traceback(tmp_path, key_file, capsys):
    from thidua.cli import main
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["templates", "--round", "Q1", "--out", str(blocker / "sub"), "--units", "CD001"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Lỗi: ") and "Thử:" in err and "Traceback" not in err
