// Type values into a ThiDua template with a Node spreadsheet library and save it, as a web tool would.
//   node fill.js JOB.json      (run with TZ=Asia/Ho_Chi_Minh: dates are made at local midnight, as a date
//                               picker in a Vietnamese browser makes them)
// JOB.json: {"writer": "exceljs" | "sheetjs", "src": template.xlsx, "jobs": [{"dst": path, "type": "xlsx" |
//            "xls" | "biff5" | "ods"}], "cells": [[sheet, "B7", {"s": text} | {"n": number} |
//            {"p": fraction} (a percentage: shown as 92.5%) | {"d": "2019-04-05"} (a date)]]}
"use strict";
const fs = require("fs");

const job = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));

function localDate(iso) {
  const [y, m, d] = iso.split("-").map(Number);
  return new Date(y, m - 1, d);            // local midnight, like a form's date picker
}

async function withExcelJS() {
  const ExcelJS = require("exceljs");
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.readFile(job.src);
  for (const [sheet, address, v] of job.cells) {
    const cell = wb.getWorksheet(sheet).getCell(address);
    if ("s" in v) cell.value = v.s;
    else if ("n" in v) cell.value = v.n;
    else if ("p" in v) { cell.value = v.p; cell.numFmt = "0.0%"; }
    else if ("d" in v) { cell.value = localDate(v.d); cell.numFmt = "dd/mm/yyyy"; }
  }
  for (const out of job.jobs) {
    if (out.type !== "xlsx") throw new Error("exceljs writes .xlsx only");
    await wb.xlsx.writeFile(out.dst);
  }
}

function withSheetJS() {
  const XLSX = require("xlsx");
  const wb = XLSX.readFile(job.src, { cellDates: true, cellStyles: true, cellNF: true });
  for (const [sheet, address, v] of job.cells) {
    const ws = wb.Sheets[sheet];
    let cell;
    if ("s" in v) cell = { t: "s", v: v.s };
    else if ("n" in v) cell = { t: "n", v: v.n };
    else if ("p" in v) cell = { t: "n", v: v.p, z: "0.0%" };
    else if ("d" in v) cell = { t: "d", v: localDate(v.d), z: "dd/mm/yyyy" };
    ws[address] = cell;
    const range = XLSX.utils.decode_range(ws["!ref"] || address);          // a cell outside the range is dropped
    const at = XLSX.utils.decode_cell(address);
    range.e.r = Math.max(range.e.r, at.r);
    range.e.c = Math.max(range.e.c, at.c);
    ws["!ref"] = XLSX.utils.encode_range(range);
  }
  for (const out of job.jobs) {
    XLSX.writeFile(wb, out.dst, { bookType: out.type, cellDates: true });
  }
}

(async () => {
  if (job.writer === "exceljs") await withExcelJS();
  else if (job.writer === "sheetjs") withSheetJS();
  else throw new Error("unknown writer " + job.writer);
})().catch((err) => { console.error(err && err.stack || err); process.exit(1); });
