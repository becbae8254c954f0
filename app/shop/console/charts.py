"""Charts drawn on the server as SVG: no script, printable, and readable by a screen reader (each
has a title and a description)."""

from __future__ import annotations

import math
from datetime import date, timedelta

from markupsafe import Markup, escape

from ..catalog.schemas import ForecastOut

# The chart's size in CSS pixels and its margins (left for the units axis, bottom for the dates).
WIDTH, HEIGHT = 760, 280
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 14, 36


def _nice_ceiling(value: float) -> int:
    """The axis top: the value rounded up to 1, 2 or 5 times a power of ten (at least 1)."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= value)


def forecast_chart(forecast: ForecastOut, product_name: str) -> Markup:
    """Units sold per day (bars), the fitted line through them, and the forecast ahead (dashed)."""
    history, ahead = forecast.daily_units, forecast.daily_forecast
    days = len(history) + len(ahead)
    fitted = [max(0.0, forecast.intercept + forecast.slope * day) for day in range(len(history))]
    top = _nice_ceiling(max([*history, *ahead, *fitted, 1]))
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_width / days

    def x(day: float) -> float:
        return LEFT + day * step

    def y(units: float) -> float:
        return TOP + plot_height * (1 - units / top)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" '
        f'role="img" aria-labelledby="chart-title chart-desc" class="chart" data-test="forecast-chart">',
        f'<title id="chart-title">Daily units sold and forecast: {escape(product_name)}</title>',
        f'<desc id="chart-desc">{escape(forecast.explanation)}</desc>',
    ]
    for units in (0, top / 2, top):
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(units):.1f}" y2="{y(units):.1f}" '
                     'stroke="#dde3e8"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y(units) + 4:.1f}" text-anchor="end" font-size="11" '
                     f'fill="#5f6b76">{units:g}</text>')
    bar = max(step * 0.8, 0.5)
    for day, units in enumerate(history):
        if units:
            parts.append(f'<rect class="sold" x="{x(day) + (step - bar) / 2:.2f}" y="{y(units):.2f}" '
                         f'width="{bar:.2f}" height="{y(0) - y(units):.2f}" fill="#9bc7b6"/>')
    fit = " ".join(f"{x(day + 0.5):.1f},{y(units):.1f}" for day, units in enumerate(fitted))
    parts.append(f'<polyline class="fitted" points="{fit}" fill="none" stroke="#0b6e4f" stroke-width="2"/>')
    projected = " ".join(f"{x(len(history) + day + 0.5):.1f},{y(units):.1f}" for day, units in enumerate(ahead))
    parts.append(f'<polyline class="forecast" points="{projected}" fill="none" stroke="#a4332a" '
                 'stroke-width="2" stroke-dasharray="6 4"/>')
    today = x(len(history))
    parts.append(f'<line x1="{today:.1f}" x2="{today:.1f}" y1="{TOP}" y2="{y(0):.1f}" stroke="#1d232a" '
                 'stroke-dasharray="2 3"/>')
    first = date.fromisoformat(forecast.window_start)
    for day, anchor in ((0, "start"), (len(history), "middle"), (days, "end")):
        label = "today" if day == len(history) else (first + timedelta(days=day)).isoformat()
        parts.append(f'<text x="{x(day):.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="{anchor}" font-size="11" '
                     f'fill="#5f6b76">{label}</text>')
    parts.append(f'<text x="{LEFT}" y="{HEIGHT - 4}" font-size="11" fill="#5f6b76">bars: units sold per day · '
                 'solid: fitted trend · dashed: forecast</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # nosec B704 - numbers, dates and escape()d text only
