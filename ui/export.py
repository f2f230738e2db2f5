"""Export buttons of the case workbench: the filtered set as CSV or Excel, written in chunks to a temporary
file with a progress bar, then offered for download.  A very large CSV is zipped (a 1.07 M-case CSV is
hundreds of MB; the browser download is held in the server's memory until the session moves on)."""
from __future__ import annotations

import os
import tempfile
import zipfile
from datetime import datetime
from pathlib import Path

import streamlit as st

from data_access.queries import case_export
from data_access.queries.cases import GRADES
from data_access.core.filters import CaseFilter
from data_access.core.metrics import RESOLUTION_LEVELS, SOURCES, STATUSES

from . import data
from .auth import current_user
from .state import t

ZIP_ABOVE_ROWS = 100_000
XLSX_SLOW_ABOVE_ROWS = 200_000
MIME = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "zip": "application/zip"}


def _translations() -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    headers = {c: t(f"ex.col.{c}") for c in case_export.EXPORT_COLUMNS}
    labels = {
        "category": data.category_labels(),
        "status": {s: t(f"enum.status.{s}") for s in STATUSES},
        "source": {s: t(f"enum.source.{s}") for s in SOURCES},
        "resolution_level": {s: t(f"enum.level.{s}") for s in RESOLUTION_LEVELS},
        "supervision_grade": {g: t(f"enum.grade.{g}") for g in GRADES},
        "on_the_spot": {"true": t("ex.yes"), "false": t("ex.no")},
    }
    return headers, labels


def _drop_previous() -> None:
    old = st.session_state.pop("wb_export_file", None)
    if old:
        Path(old["path"]).unlink(missing_ok=True)


def _build(kind: str, f: CaseFilter, total: int, now: datetime, sort: str) -> None:
    """Write the export to a temporary file (zipped when a CSV is large), in the list's ``sort``, and remember it
    for the session."""
    _drop_previous()
    headers, labels = _translations()
    bar = st.progress(0.0, t("ex.progress", done=0, total=f"{total:,}"))

    def progress(fraction: float, rows: int) -> None:
        bar.progress(min(max(fraction, 0.0), 1.0), t("ex.progress", done=f"{rows:,}", total=f"{total:,}"))

    name = case_export.export_file_name(f, kind, prefix=t("ex.prefix"), as_of=now.date(), tree=data.tree())
    fd, path = tempfile.mkstemp(suffix="." + kind, prefix="gov-export-")
    os.close(fd)
    try:
        writer = case_export.write_csv if kind == "csv" else case_export.write_xlsx
        extra = {} if kind == "csv" else {"sheet_name": t("ex.sheet")}
        rows = writer(data.engine(), f, path, user=current_user(), now=now, headers=headers, labels=labels,
                      progress=progress, total=total, sort=sort, **extra)
        if kind == "csv" and rows > ZIP_ABOVE_ROWS:
            zpath = path + ".zip"
            with zipfile.ZipFile(zpath, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as z:
                z.write(path, arcname=name)
            Path(path).unlink(missing_ok=True)
            path, name = zpath, name + ".zip"
    except Exception:
        Path(path).unlink(missing_ok=True)
        bar.empty()
        raise
    bar.empty()
    st.session_state.wb_export_file = {"path": path, "name": name, "rows": rows, "sig": repr((f, sort)),
                                       "kind": name.rsplit(".", 1)[-1]}


def export_buttons(f: CaseFilter, total: int, now: datetime, sort: str) -> None:
    """Two buttons; after one is pressed, the download of that file, in the list's ``sort`` (until the filter or
    the sort changes)."""
    ready = st.session_state.get("wb_export_file")
    if ready and ready["sig"] != repr((f, sort)):
        _drop_previous()
        ready = None
    c = st.columns(2)
    csv_clicked = c[0].button(t("ex.csv"), icon=":material/download:", disabled=total == 0, width="stretch",
                              help=t("ex.help", n=f"{total:,}"))
    slow = total > XLSX_SLOW_ABOVE_ROWS  # Excel files are written at ~6,000 rows a second
    xlsx_clicked = c[1].button(t("ex.xlsx"), icon=":material/table_view:", disabled=total == 0, width="stretch",
                               help=t("ex.help", n=f"{total:,}") + (
                                   t("ex.xlsx.slow", min=max(1, round(total / 6000 / 60))) if slow else ""))
    if csv_clicked or xlsx_clicked:
        _build("csv" if csv_clicked else "xlsx", f, total, now, sort)
        ready = st.session_state.get("wb_export_file")
    if ready and Path(ready["path"]).exists():
        size = Path(ready["path"]).stat().st_size
        with open(ready["path"], "rb") as fh:
            st.download_button(t("ex.download", name=ready["name"], size=f"{size / 1e6:.1f}"), fh.read(),
                               file_name=ready["name"], mime=MIME[ready["kind"]], icon=":material/save_alt:",
                               type="primary", on_click="ignore", width="stretch", key="wb_export_dl")
