"""A PNG chart of `MetricsEvidence`: the alert's expression over its window, the alert start.

Called by the Slack notifier, which uploads the bytes. Drawn with matplotlib's Agg canvas on
a `Figure` of its own (never pyplot), so it is headless and holds no global state between
calls or threads. matplotlib is imported on the first chart, not at start (it costs
about half a second and tens of megabytes that a service without charts never needs).
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.model.signal_evidence import MetricsEvidence, Series

if TYPE_CHECKING:
    from matplotlib.axes import Axes

_MAX_LEGEND = 6


def _label(series: Series) -> str:
    shown = {k: v for k, v in series.labels.items() if k != "__name__"}
    return ", ".join(f"{k}={v}" for k, v in sorted(shown.items()))[:60] or "value"


# The x axis is in days since the Unix epoch, matplotlib's own date unit (epoch 1970).
_DAY = 86400.0


def _num(when: datetime) -> float:
    return when.timestamp() / _DAY


def _times(series: Series) -> list[float]:
    return [t / _DAY for t, _ in series.points]


def _clock(days: float, _position: object = None) -> str:
    return datetime.fromtimestamp(days * _DAY, tz=UTC).strftime("%H:%M")


def render_chart(evidence: MetricsEvidence, title: str) -> bytes:
    """PNG bytes: each series over the window, the threshold, and a line at the alert start."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    with_resources = any(r.memory_limit_bytes or r.cpu_limit_cores for r in evidence.resources)
    figure = Figure(figsize=(8, 4.5 if not with_resources else 6.5), dpi=100)
    FigureCanvasAgg(figure)
    grid = figure.add_gridspec(2, 1, height_ratios=[3, 1.4]) if with_resources else None
    axes = figure.add_subplot(grid[0]) if grid is not None else figure.add_subplot()
    axes.set_title(title[:90], fontsize=11)
    drawn = 0
    for series in evidence.series:
        if series.points:
            axes.plot(
                _times(series), [v for _, v in series.points], linewidth=1.4, label=_label(series)
            )
            drawn += 1
    if evidence.threshold is not None:
        axes.axhline(
            evidence.threshold,
            color="tab:red",
            linestyle="--",
            linewidth=1,
            label=f"threshold {evidence.comparison} {evidence.threshold:g}",
        )
    if evidence.alert_start is not None:
        axes.axvline(
            _num(evidence.alert_start),
            color="black",
            linestyle=":",
            linewidth=1.2,
            label="alert start",
        )
    if drawn == 0:
        axes.text(
            0.5, 0.5, "no data in the window", ha="center", va="center", transform=axes.transAxes
        )
    if evidence.start is not None and evidence.end is not None:
        axes.set_xlim(_num(evidence.start), _num(evidence.end))
    axes.xaxis.set_major_formatter(FuncFormatter(_clock))
    axes.set_xlabel("time (UTC)", fontsize=8)
    axes.set_ylabel(evidence.expression[:50] or "value", fontsize=8)
    axes.tick_params(labelsize=7)
    axes.grid(alpha=0.3)
    handles, labels = axes.get_legend_handles_labels()
    if handles:
        axes.legend(
            handles[: _MAX_LEGEND + 2], labels[: _MAX_LEGEND + 2], fontsize=7, loc="upper left"
        )
    if grid is not None:
        _draw_resources(figure.add_subplot(grid[1]), evidence)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _draw_resources(axes: Axes, evidence: MetricsEvidence) -> None:
    names: list[str] = []
    memory: list[float] = []
    cpu: list[float] = []
    for r in evidence.resources[:8]:
        names.append(f"{r.pod[-28:]}/{r.container}")
        mem_share = (r.memory_bytes or 0) / r.memory_limit_bytes if r.memory_limit_bytes else 0.0
        cpu_share = (r.cpu_cores or 0) / r.cpu_limit_cores if r.cpu_limit_cores else 0.0
        memory.append(100 * mem_share)
        cpu.append(100 * cpu_share)
    rows = list(range(len(names)))
    axes.barh([y - 0.2 for y in rows], memory, height=0.4, label="memory % of limit")
    axes.barh([y + 0.2 for y in rows], cpu, height=0.4, label="CPU % of limit")
    axes.axvline(100, color="tab:red", linewidth=1)
    axes.set_yticks(rows, names, fontsize=7)
    axes.set_xlim(0, max([110.0, *memory, *cpu]))
    axes.tick_params(labelsize=7)
    axes.legend(fontsize=7, loc="lower right")
