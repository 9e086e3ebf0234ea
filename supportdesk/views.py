"""The support dashboard (mounted under the admin, staff only) and small request helpers for
the admin. Figures come from `supportdesk.selectors`; this module only lays them out, including
the server-rendered SVG chart (no JavaScript, no CDN: the admin works offline)."""

from dataclasses import dataclass

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from supportdesk import selectors

DASHBOARD_PERMISSION = "orders.view_order"


# --- Chart -----------------------------------------------------------------------------------

# (FunnelDay attribute, legend label, colour), bottom to top of each stacked bar.
CHART_SERIES = (
    ("paid", "Lunas", "#15803d"),
    ("pending", "Menunggu bayar", "#f59e0b"),
    ("still_created", "Belum ke Midtrans", "#9ca3af"),
    ("failed", "Gagal", "#dc2626"),
    ("expired", "Kedaluwarsa", "#92400e"),
    ("refunded", "Dikembalikan", "#7c3aed"),
)


@dataclass(frozen=True)
class ChartSegment:
    y: float
    height: float
    colour: str
    title: str


@dataclass(frozen=True)
class ChartBar:
    x: float
    centre: float
    width: float
    label: str
    total: int
    total_y: float
    segments: list[ChartSegment]


@dataclass(frozen=True)
class ChartLine:
    y: float
    value: int


@dataclass(frozen=True)
class LegendItem:
    x: float
    text_x: float
    colour: str
    label: str


@dataclass(frozen=True)
class FunnelChart:
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    bars: list[ChartBar]
    gridlines: list[ChartLine]
    legend: list[LegendItem]
    empty: bool

    @property
    def axis_label_x(self) -> int:
        return self.left - 6

    @property
    def day_label_y(self) -> int:
        return self.bottom + 16

    @property
    def legend_y(self) -> int:
        return self.height - 24

    @property
    def legend_text_y(self) -> int:
        return self.height - 14

    @property
    def middle_x(self) -> float:
        return (self.left + self.right) / 2

    @property
    def middle_y(self) -> float:
        return (self.top + self.bottom) / 2


GRID_STEPS = 4


def _grid_step(peak: int) -> int:
    """The smallest round step (1, 2 or 5 times a power of ten) with GRID_STEPS steps reaching
    `peak`, so the gridlines land on whole, readable numbers."""
    scale = 1
    while True:
        for factor in (1, 2, 5):
            if factor * scale * GRID_STEPS >= peak:
                return factor * scale
        scale *= 10


def funnel_chart(days: list[selectors.FunnelDay], *, width: int = 760) -> FunnelChart:
    """Geometry of a stacked bar chart: one bar per day (orders created), split by current
    status; y axis from 0 to a round maximum, with gridlines at round steps."""
    height, left, right, top, bottom = 300, 44, 12, 16, 236
    plot_height = bottom - top
    step = _grid_step(max([d.created for d in days] + [1]))
    peak = step * GRID_STEPS
    slot = (width - left - right) / max(len(days), 1)
    bar_width = slot * 0.64
    bars = []
    for index, day in enumerate(days):
        x = left + index * slot + (slot - bar_width) / 2
        y = float(bottom)
        segments = []
        for name, label, colour in CHART_SERIES:
            count = getattr(day, name)
            if not count:
                continue
            segment_height = plot_height * count / peak
            y -= segment_height
            segments.append(
                ChartSegment(
                    y=round(y, 1),
                    height=round(segment_height, 1),
                    colour=colour,
                    title=f"{day.day:%d/%m}: {count} {label.lower()}",
                )
            )
        bars.append(
            ChartBar(
                x=round(x, 1),
                centre=round(x + bar_width / 2, 1),
                width=round(bar_width, 1),
                label=f"{day.day:%d/%m}",
                total=day.created,
                total_y=round(y - 4, 1),
                segments=segments,
            )
        )
    gridlines = [
        ChartLine(y=round(bottom - plot_height * i / GRID_STEPS, 1), value=step * i)
        for i in range(GRID_STEPS + 1)
    ]
    # Legend left to right; each entry as wide as its label (about 7 px per character at
    # 12 px) plus the swatch and a gap, so long labels never run into the next one.
    legend = []
    legend_x = float(left)
    for _, label, colour in CHART_SERIES:
        legend.append(LegendItem(x=legend_x, text_x=legend_x + 16, colour=colour, label=label))
        legend_x += 16 + 7 * len(label) + 20
    return FunnelChart(
        width=width,
        height=height,
        left=left,
        right=width - right,
        top=top,
        bottom=bottom,
        bars=bars,
        gridlines=gridlines,
        legend=legend,
        empty=not any(d.created for d in days),
    )


# --- Dashboard -------------------------------------------------------------------------------


def dashboard(request: HttpRequest) -> HttpResponse:
    """Funnel per WIB day, notification backlog, DLQ, oldest pending order, recent ops alerts.
    Wrapped in `admin.site.admin_view` (active staff only, never cached); also needs
    `orders.view_order`, which the Support group has."""
    if not request.user.has_perm(DASHBOARD_PERMISSION):
        raise PermissionDenied
    days = request.GET.get("days", "")
    period = int(days) if days.isdigit() and int(days) in selectors.PERIOD_CHOICES else None
    snapshot = selectors.dashboard_snapshot(days=period or selectors.FUNNEL_DAYS)
    context = {
        **admin.site.each_context(request),
        "title": "Dasbor pembayaran & notifikasi",
        "dashboard": snapshot,
        "funnel_newest_first": list(reversed(snapshot.funnel)),
        "chart": funnel_chart(snapshot.funnel),
        "period_choices": selectors.PERIOD_CHOICES,
    }
    return TemplateResponse(request, "supportdesk/dashboard.html", context)
