"""Charts as SVG, drawn server-side by pygal (a maintained charting library), with no script and no
external asset: the dashboard shows them as images, the annual report embeds them in its PDF.
The figures beside each chart are always also given as a table (templates)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import pygal
from pygal.style import Style

import messages.dashboard as text
from dashboard.budget import Figures, QuarterPoint

FONT = "Laksaman, Loma, Garuda, sans-serif"
STYLE = Style(
    font_family=FONT,
    background="white",
    plot_background="white",
    colors=("#15803d", "#1d4ed8", "#a16207"),
    title_font_size=20,
    label_font_size=14,
    major_label_font_size=14,
    legend_font_size=15,
    value_font_size=13,
    tooltip_font_size=13,
)


def _config(**options: object) -> dict[str, object]:
    return {
        "style": STYLE,
        "js": [],  # no script from a CDN (pygal's default), none at all
        "disable_xml_declaration": False,
        "legend_at_bottom": True,
        "print_values": True,
        "value_formatter": lambda v: f"{v:.1f}%" if v is not None else "",
        "range": (0, 100),
        "width": 900,
        "height": 420,
        **options,
    }


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _for_print(options: dict[str, object], print_edition: bool) -> dict[str, object]:
    """WeasyPrint draws an SVG's text without Thai shaping (marks land beside their letters), so the
    printed edition's charts carry no Thai words: no title or legend (the page gives both above and
    below the chart) and short labels."""
    if print_edition:
        options.update(title=None, show_legend=False)
    return options


def disbursement_chart(
    points: Sequence[QuarterPoint], fiscal_year: int, *, print_edition: bool = False
) -> bytes:
    chart = pygal.Bar(**_for_print(_config(title=text.chart_disbursement_title(fiscal_year)), print_edition))
    chart.x_labels = [f"Q{p.quarter}" if print_edition else text.quarter_label(p.quarter) for p in points]
    chart.add(text.CHART_DISBURSED, [_float(p.disbursed_pct) for p in points])
    chart.add(text.CHART_TARGET, [_float(p.target_pct) for p in points])
    return bytes(chart.render())


def groups_chart(rows: Sequence[Figures], title: str, *, print_edition: bool = False) -> bytes:
    height = max(300, 90 + 46 * len(rows))
    chart = pygal.HorizontalBar(
        **_for_print(_config(title=title, height=height, truncate_label=48), print_edition)
    )
    chart.x_labels = [text.short_label(r.label) if print_edition else r.label for r in rows]
    chart.add(text.CHART_DISBURSED, [_float(r.disbursed_pct) for r in rows])
    chart.add(text.CHART_ACHIEVEMENT, [_float(r.achievement_pct) for r in rows])
    return bytes(chart.render())
