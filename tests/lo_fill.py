"""Type values into a workbook with LibreOffice (UNO) and save it, as a unit using LibreOffice would.

Run with Debian's Python (it has `uno`): /usr/bin/python3 tests/lo_fill.py JOB.json
JOB.json: {"src": path, "dst": path, "filter": "Calc MS Excel 2007 XML" | "MS Excel 97" | "calc8",
           "cells": [[sheet name, cell address, value], ...]}  (a str value starting with "=" is a formula;
           {"percent": 0.85} is 85% with the percentage format, as LibreOffice keeps a typed "85%")
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import uno
from com.sun.star.beans import PropertyValue
from com.sun.star.lang import Locale


def _prop(name, value):
    p = PropertyValue()
    p.Name, p.Value = name, value
    return p


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(job_path):
    job = json.load(open(job_path, encoding="utf-8"))
    port = _free_port()
    profile = tempfile.mkdtemp(prefix="thidua-lofill-")
    proc = subprocess.Popen(["soffice", "--headless", "--norestore", "--nologo",
                             f"-env:UserInstallation=file://{profile}",
                             f"--accept=socket,host=127.0.0.1,port={port};urp;"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
        for _ in range(120):
            try:
                ctx = resolver.resolve(f"uno:socket,host=127.0.0.1,port={port};urp;StarOffice.ComponentContext")
                break
            except Exception:
                time.sleep(0.25)
        else:
            raise SystemExit("LibreOffice did not start")
        desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
        jobs = job if isinstance(job, list) else [job]
        for one in jobs:
            url = uno.systemPathToFileUrl(os.path.abspath(one["src"]))
            doc = desktop.loadComponentFromURL(url, "_blank", 0, (_prop("Hidden", True),))
            for sheet_name, address, value in one.get("cells", []):
                sheet = doc.Sheets.getByName(sheet_name)
                cell = sheet.getCellRangeByName(address)
                if isinstance(value, dict):          # {"percent": 0.85}: typed as 85%, shown with the % format
                    cell.setValue(value["percent"])
                    cell.NumberFormat = doc.NumberFormats.getStandardFormat(
                        uno.getConstantByName("com.sun.star.util.NumberFormat.PERCENT"), Locale())
                elif isinstance(value, (int, float)) and not isinstance(value, bool):
                    cell.setValue(value)
                elif isinstance(value, str) and value.startswith("="):
                    cell.setFormula(value)
                else:
                    cell.setString(str(value))
            for old, new in one.get("rename", []):
                doc.Sheets.getByName(old).setName(new)
            out = uno.systemPathToFileUrl(os.path.abspath(one["dst"]))
            doc.storeToURL(out, (_prop("FilterName", one.get("filter", "Calc MS Excel 2007 XML")),))
            doc.close(True)
        try:
            desktop.terminate()
        except Exception:
            pass
    finally:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(profile, ignore_errors=True)     # LibreOffice's profile: ~0.5 MB a run


if __name__ == "__main__":
    main(sys.argv[1])
