"""Open the master workbook in LibreOffice (UNO), list its buttons and VBA modules, press buttons.

Run with Debian's Python (it has `uno`): /usr/bin/python3 tests/lo_press.py JOB.json OUT.json
JOB.json: a job or a list of jobs, each {"src": path, "sheet": home sheet name, "record": [row, col] of the cell the stub RunPython writes,
           "cells": [[row, col, text], ...] typed on the home sheet first,
           "press": [caption, ...], "pdf": [[sheet name, out.pdf or out.png], ...]}
OUT.json: per job {"buttons": [{"label", "macro"}], "modules": [...], "pressed": {caption: recorded text}}
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

from lo_fill import _free_port, _prop


def _connect(port):
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    for _ in range(160):
        try:
            return resolver.resolve(f"uno:socket,host=127.0.0.1,port={port};urp;StarOffice.ComponentContext")
        except Exception:
            time.sleep(0.25)
    raise SystemExit("LibreOffice did not start")


def _buttons(sheet):
    forms = sheet.DrawPage.Forms
    out = []
    for f in range(forms.getCount()):
        form = forms.getByIndex(f)
        for i in range(form.getCount()):
            model = form.getByIndex(i)
            macros = [e.ScriptCode for e in form.getScriptEvents(i)]
            out.append({"label": model.Label, "macro": macros[0] if macros else "", "model": model})
    return out


def _run(desktop, job):
    result = {"buttons": [], "modules": [], "pressed": {}}
    url = uno.systemPathToFileUrl(os.path.abspath(job["src"]))
    doc = desktop.loadComponentFromURL(url, "_blank", 0, (_prop("MacroExecutionMode", 4),))
    libs = doc.BasicLibraries
    if libs.hasByName("VBAProject"):
        result["modules"] = sorted(libs.getByName("VBAProject").getElementNames())
    sheet = doc.Sheets.getByName(job["sheet"])
    controller = doc.CurrentController
    controller.setActiveSheet(sheet)
    controller.setFormDesignMode(False)
    for row, col, text in job.get("cells", []):
        sheet.getCellByPosition(col, row).setString(text)
    buttons = _buttons(sheet)
    result["buttons"] = [{"label": b["label"], "macro": b["macro"]} for b in buttons]
    rec_row, rec_col = job["record"]
    record = sheet.getCellByPosition(rec_col, rec_row)
    by_label = {b["label"]: b["model"] for b in buttons}
    for caption in job.get("press", []):
        record.setString("")
        controller.getControl(by_label[caption]).getAccessibleContext().doAccessibleAction(0)
        for _ in range(40):
            if record.getString():
                break
            time.sleep(0.05)
        result["pressed"][caption] = record.getString()
    for name, out in job.get("pdf", []):
        _export_sheet(doc, name, out)
    doc.close(True)
    return result


def _export_sheet(doc, name, out):
    """One sheet, buttons included, one landscape page wide, as PDF (or a PNG of its first page, for the README's
    pictures)."""
    sheets = doc.Sheets
    target = sheets.getByName(name)
    for i in range(sheets.getCount()):
        other = sheets.getByIndex(i)
        other.IsVisible = other.Name == name
    forms = target.DrawPage.Forms
    for f in range(forms.getCount()):
        form = forms.getByIndex(f)
        for i in range(form.getCount()):
            form.getByIndex(i).Printable = True
    style = doc.StyleFamilies.getByName("PageStyles").getByName(target.PageStyle)
    # One page wide, as tall as it needs: fitted into one landscape page, LibreOffice shrinks the cells but not the
    # buttons' captions (they wrap). A picture is one tall page (cropped to its ink afterwards).
    style.IsLandscape, style.Width, style.Height = True, 29700, 42000 if out.endswith(".png") else 21000
    style.ScaleToPagesX, style.ScaleToPagesY = 1, 0
    pdf = out if out.endswith(".pdf") else out + ".pdf"
    doc.storeToURL(uno.systemPathToFileUrl(os.path.abspath(pdf)), (_prop("FilterName", "calc_pdf_Export"),))
    for i in range(sheets.getCount()):
        sheets.getByIndex(i).IsVisible = True
    if out.endswith(".png"):
        _png(pdf, out)
        os.remove(pdf)


def _png(pdf, out, res=110, margin=12):
    """The PDF's first page as a PNG cropped to its ink (pdftoppm), for docs/images/."""
    data = subprocess.run(["pdftoppm", "-r", str(res), "-singlefile", "-gray", pdf], capture_output=True,
                          check=True).stdout
    _, size, _, pixels = data.split(b"\n", 3)
    w, h = map(int, size.split())
    rows = [y for y in range(h) if min(pixels[y * w:(y + 1) * w]) < 250]
    cols = [x for x in range(w) if any(pixels[y * w + x] < 250 for y in range(rows[0], rows[-1] + 1, 2))]
    x0, y0 = max(cols[0] - margin, 0), max(rows[0] - margin, 0)
    subprocess.run(["pdftoppm", "-r", str(res), "-singlefile", "-png", "-x", str(x0), "-y", str(y0),
                    "-W", str(cols[-1] - x0 + margin), "-H", str(rows[-1] - y0 + margin), pdf, out[:-4]], check=True)


def main(job_path, out_path):
    """One LibreOffice process for every job in the file (a job or a list of jobs)."""
    jobs = json.load(open(job_path, encoding="utf-8"))
    port = _free_port()
    profile = tempfile.mkdtemp(prefix="thidua-lopress-")
    proc = subprocess.Popen(["soffice", "--headless", "--norestore", "--nologo", "--nodefault",
                             f"-env:UserInstallation=file://{profile}",
                             f"--accept=socket,host=127.0.0.1,port={port};urp;"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    desktop = None
    try:
        ctx = _connect(port)
        desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
        results = [_run(desktop, job) for job in (jobs if isinstance(jobs, list) else [jobs])]
    finally:
        try:
            desktop.terminate()
        except Exception:
            pass
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(profile, ignore_errors=True)     # LibreOffice's profile: ~0.5 MB a run
    with open(out_path, "w", encoding="utf-8") as fh:
        json.dump(results if isinstance(jobs, list) else results[0], fh, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
