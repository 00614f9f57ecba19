"""Peak memory and time of importing small hostile .xlsx files (issue 13, item 7): a file under 1 MB
on disk that unpacks to one enormous row, or one enormous cell. Each import runs in its own subprocess
so its peak RSS is its own; the figures are printed, never asserted (the test suite asserts only the
named errors).

    .venv/bin/python bench/hostile_import_bench.py              # the code in this checkout
    .venv/bin/python bench/hostile_import_bench.py --root DIR   # another checkout of the project
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
TARGET_ON_DISK = 800_000


def _workbook(path: Path, rows_xml_parts: list[bytes], repeat: int) -> None:
    """An openpyxl-made workbook whose first sheet is replaced, streamed into the zip (the sheet is
    never held whole in memory: it is ``parts[0] + parts[1] * repeat + parts[2]``)."""
    from openpyxl import Workbook

    base = path.with_suffix(".base.xlsx")
    book = Workbook()
    book.active.title = "offices"
    book.save(base)
    head, body, tail = rows_xml_parts
    with zipfile.ZipFile(base) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for item in src.infolist():
            if item.filename != "xl/worksheets/sheet1.xml":
                out.writestr(item.filename, src.read(item.filename), zipfile.ZIP_DEFLATED)
                continue
            info = zipfile.ZipInfo(item.filename)
            info.compress_type = zipfile.ZIP_DEFLATED
            with out.open(info, "w", force_zip64=True) as sheet:
                sheet.write(head)
                block = body * 1000
                for _ in range(repeat // 1000):
                    sheet.write(block)
                sheet.write(body * (repeat % 1000))
                sheet.write(tail)
    base.unlink()


def _repeat_for(head: bytes, body: bytes, tail: bytes) -> int:
    """How many repeats of ``body`` make a sheet that deflates to about TARGET_ON_DISK bytes."""
    sample = 200_000
    packed = len(zlib.compress(head + body * sample + tail, 6))
    return int(sample * TARGET_ON_DISK / packed)


def make_cases(folder: Path) -> dict[str, Path]:
    header = (
        f'<worksheet xmlns="{MAIN}"><sheetData><row r="1">'
        '<c r="A1" t="inlineStr"><is><t>code</t></is></c><c r="B1" t="inlineStr"><is><t>name</t></is></c>'
        '<c r="C1" t="inlineStr"><is><t>kind</t></is></c></row>'
    ).encode()
    end = b'<row r="3"><c r="A3" t="inlineStr"><is><t>AO1</t></is></c></row></sheetData></worksheet>'
    cases = {}
    many = (
        header + b'<row r="2">',
        b'<c r="B2" t="inlineStr"><is><t>\xe0\xb8\x81</t></is></c>',
        b"</row>" + end,
    )
    cases["one row of many cells"] = many
    cell = (
        header + b'<row r="2"><c r="B2" t="inlineStr"><is><t>',
        b"\xe0\xb8\x81",
        b"</t></is></c></row>" + end,
    )
    cases["one huge cell"] = cell
    paths = {}
    for name, (head, body, tail) in cases.items():
        path = folder / (name.replace(" ", "-") + ".xlsx")
        repeat = _repeat_for(head, body, tail)
        _workbook(path, [head, body, tail], repeat)
        paths[name] = path
    return paths


def child(root: str, workbook: str, url: str) -> None:
    sys.path.insert(0, root)
    from datetime import UTC, datetime

    from models.db import make_engine
    from scheduler.clock import FixedClock
    from tidtam import migrate
    from tidtam.workbook import import_workbook

    migrate.upgrade(url)
    engine = make_engine(url)
    started = time.perf_counter()
    try:
        result = import_workbook(Path(workbook), engine, FixedClock(datetime(2026, 10, 1, tzinfo=UTC)))
        outcome = f"{len(result.errors)} errors: " + " | ".join(str(p)[:120] for p in result.errors[:3])
    except Exception as exc:  # the old code's behaviour: report it as a figure
        outcome = f"raised {type(exc).__name__}"
    wall = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"wall": wall, "peak_mib": peak, "outcome": outcome}))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--root", default=str(ROOT), help="the checkout whose importer runs")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name, path in make_cases(folder).items():
            with zipfile.ZipFile(path) as archive:
                unpacked = archive.getinfo("xl/worksheets/sheet1.xml").file_size
            url = f"sqlite:///{folder / (path.stem + '.sqlite3')}"
            done = subprocess.run(
                [sys.executable, __file__, "--child", args.root, str(path), url],
                capture_output=True,
                text=True,
                check=False,
            )
            lines = done.stdout.strip().splitlines()
            figures = json.loads(lines[-1]) if done.returncode == 0 and lines else None
            size = f"{path.stat().st_size / 1e6:.2f} MB on disk, sheet {unpacked / 1e6:,.0f} MB unpacked"
            if figures is None:
                print(f"{name:22} {size}: child failed ({done.returncode}) {done.stderr[-300:]}")
                continue
            print(
                f"{name:22} {size}: wall {figures['wall']:6.1f} s  peak RSS {figures['peak_mib']:6.0f} MiB  "
                f"{figures['outcome']}"
            )


if __name__ == "__main__":
    main()
