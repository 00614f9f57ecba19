"""The pages behind signed photo links: a report version's evidence photos, for its approvers.

`GET /media/report/{version}` shows the photos of one report version; `GET /media/photo/{id}` serves one
photo. Both need the link's expiry and token (`bot/media_links.py`); anything else is 404, so the pages
say nothing about which reports exist.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse, HTMLResponse
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.media_links import MediaLinks
from messages import approvals as text
from models.plan import Project
from models.reports import EvidencePhoto, ProgressReport, ReportVersion


def add_media_pages(
    app: FastAPI,
    *,
    engine: Engine,
    links: MediaLinks,
    media_dir: Path,
    now: Callable[[], datetime],
    tz: ZoneInfo,
) -> None:
    def check(kind: str, ident: int, e: int, t: str) -> None:
        if not links.valid(kind, ident, e, t, now().astimezone(tz).date()):
            raise HTTPException(status_code=404)

    @app.get("/media/report/{version_id}", response_class=HTMLResponse)
    def report_photos(version_id: int, e: int = 0, t: str = "") -> HTMLResponse:
        check("v", version_id, e, t)
        with Session(engine) as session:
            version = session.get(ReportVersion, version_id)
            report = session.get(ProgressReport, version.report_id) if version else None
            project = session.get(Project, report.project_id) if report else None
            if version is None or project is None:
                raise HTTPException(status_code=404)
            photo_ids = list(
                session.exec(
                    select(EvidencePhoto.id)
                    .where(EvidencePhoto.version_id == version_id)
                    .order_by(EvidencePhoto.id)
                )
            )
        title = text.photos_page_title(project.code, project.name, version.version)
        images = "".join(
            f'<figure><img src="{html.escape(links.photo(pid or 0, e))}" alt="{n}" loading="lazy">'
            f"<figcaption>{html.escape(text.photo_caption(n, len(photo_ids)))}</figcaption></figure>"
            for n, pid in enumerate(photo_ids, start=1)
        )
        body = images or f"<p>{html.escape(text.no_photos())}</p>"
        page = (
            '<!doctype html><html lang="th"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title><style>"
            "body{font-family:'TH Sarabun New','Laksaman',sans-serif;margin:1rem;font-size:1.2rem}"
            "img{max-width:100%;height:auto;border-radius:6px}figure{margin:0 0 1.5rem}"
            f"</style></head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
        )
        return HTMLResponse(
            page, headers={"Cache-Control": "private, no-store", "Referrer-Policy": "no-referrer"}
        )

    @app.get("/media/photo/{photo_id}")
    def photo(photo_id: int, e: int = 0, t: str = "") -> FileResponse:
        check("p", photo_id, e, t)
        with Session(engine) as session:
            found = session.get(EvidencePhoto, photo_id)
        if found is None:
            raise HTTPException(status_code=404)
        root = media_dir.resolve()
        path = (root / found.path).resolve()
        if root not in path.parents or not path.is_file():
            raise HTTPException(status_code=404)
        return FileResponse(
            path, media_type=found.content_type, headers={"Cache-Control": "private, no-store"}
        )
