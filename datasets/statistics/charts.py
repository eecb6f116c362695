"""Per-day bar charts drawn on the server as SVG geometry: no script, no charting library, and
a chart scales with its viewBox to any screen. Words (dates, peaks) stay in the page's HTML
around the chart, where they keep a readable size on a phone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.utils.safestring import SafeString, mark_safe

WIDTH = 600
HEIGHT = 150
GAP_SHARE = 0.2  # of each day's slot left empty between bars


@dataclass(frozen=True)
class Bar:
    day: date
    value: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class BarChart:
    name: str
    title: str
    total: int
    peak: int
    peak_day: date | None
    bars: list[Bar]
    first_day: date
    last_day: date
    width: int = WIDTH
    height: int = HEIGHT

    def bars_svg(self) -> SafeString:
        """The bars with a value, each with a <title> naming its day: up to 365 per chart,
        written here in one pass (a template loop or format_html took most of the page's
        time). Only numbers and dates go in, so there is nothing to escape."""
        return mark_safe(  # noqa: S308
            "".join(
                f'<rect class="chart-bar" x="{bar.x}" y="{bar.y}" width="{bar.width}" '
                f'height="{bar.height}"><title>{bar.day:%-d %b %Y}: {bar.value:d}</title></rect>'
                for bar in self.bars
                if bar.value
            )
        )

    @property
    def description(self) -> str:
        days = len(self.bars)
        if not self.total:
            return f"None in the last {days} day{'s' if days != 1 else ''}."
        return (
            f"{self.total:,} in the last {days} day{'s' if days != 1 else ''}; "
            f"most on {self.peak_day:%d %b %Y} ({self.peak:,})."
        )


def bar_chart(*, name: str, title: str, series: list[dict]) -> BarChart:
    """One bar per day of `series` (oldest first) for its `name` figure, scaled to the peak."""
    values = [day[name] for day in series]
    peak = max(values, default=0)
    slot = WIDTH / max(len(series), 1)
    bars = []
    for index, day in enumerate(series):
        value = day[name]
        # A day with a few contributions stays visible beside a busy one (at least 1 unit).
        height = 0.0 if not value else max(HEIGHT * value / peak, 1.0)
        bars.append(
            Bar(
                day=day["day"],
                value=value,
                x=round(index * slot + slot * GAP_SHARE / 2, 2),
                y=round(HEIGHT - height, 2),
                width=round(slot * (1 - GAP_SHARE), 2),
                height=round(height, 2),
            )
        )
    peak_day = next((day["day"] for day in series if peak and day[name] == peak), None)
    return BarChart(
        name=name,
        title=title,
        total=sum(values),
        peak=peak,
        peak_day=peak_day,
        bars=bars,
        first_day=series[0]["day"],
        last_day=series[-1]["day"],
    )
