"""A screenshot-like PNG of a rendered Slack message, drawn from its Block Kit with matplotlib.

A developer tool for documentation and review, not shipped in `bot/`: from the repository
root, `.venv/bin/python -m tools.slack_preview REPORT.json OUT.png` reads a triage report
(what `triage-bot triage --json` prints), renders it with `slack.render` and draws the
blocks roughly as Slack shows them (header, text, context in grey, buttons, the colored
bar of the attachment). It writes two files: OUT.png and the Block Kit beside it
(OUT.json, or `--blocks PATH`) to paste into Slack's Block Kit Builder; it refuses to
write over its input. Bad input ends with one line and status 2. matplotlib is imported
only when a picture is drawn.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import sys
import textwrap
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from bot.field_errors import first_error
from bot.model.report import TriageReport
from bot.slack.render import render_message

if TYPE_CHECKING:
    from matplotlib.figure import Figure

WIDTH_CHARS = 96
LINE = 0.22  # inches per line
# Emoji the default font lacks, as glyphs it has (matplotlib would warn and draw boxes).
_GLYPHS = {
    "🔴": "●",
    "🟠": "●",
    "✅": "✔",
    "❌": "✘",
    "👀": "◉",
    "🔕": "◌",
    "➡️": "→",
    "⏳": "…",
    "️": "",
    "ˋ": "`",
}
_LINK = re.compile(r"<([^|>]+)\|([^>]+)>")
_MENTION = re.compile(r"<(?:@|!subteam\^|!)([A-Za-z0-9_-]+)>")


def plain(text: str) -> str:
    """Mrkdwn as a person reads it: links as labels, entities decoded, no emphasis marks."""
    for emoji, glyph in _GLYPHS.items():
        text = text.replace(emoji, glyph)
    text = _LINK.sub(r"\2", text)
    text = _MENTION.sub(r"@\1", text)
    text = text.replace("*", "").replace("```", "")
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return "".join(ch for ch in text if ord(ch) <= 0xFFFF)


def _lines(block: dict[str, Any]) -> list[tuple[str, str]]:
    kind = block.get("type")
    if kind == "header":
        return [("header", plain(block["text"]["text"]))]
    if kind == "section":
        out, code = [], False
        for raw in block["text"]["text"].splitlines() or [""]:
            fence = raw.strip().startswith("```") or raw.strip().endswith("```")
            if fence:
                code = not code if raw.strip() in ("```", "```\n") else code
                raw = raw.replace("```", "")
                if not raw.strip():
                    continue
            style = "code" if code else ("bold" if raw.startswith("*") else "text")
            wrapped = textwrap.wrap(plain(raw), WIDTH_CHARS) or [""]
            out += [(style, w) for w in wrapped]
        return out
    if kind == "context":
        joined = "   ".join(plain(e.get("text", "")) for e in block.get("elements", []))
        return [("context", w) for w in textwrap.wrap(joined, WIDTH_CHARS + 10)]
    if kind == "actions":
        labels = [plain(e["text"]["text"]) for e in block.get("elements", [])]
        return [("buttons", "\x00".join(labels))]
    return []


def _draw(figure: Figure, rows: list[tuple[str, str, str | None]], height: float) -> None:
    y = height - 0.25
    for style, text, bar in rows:
        top = y / height
        if bar:
            figure.patches.append(
                _bar(figure, 0.03, top - LINE / height, LINE / height + 0.004, bar)
            )
        x = 0.06 if bar else 0.03
        if style == "buttons":
            for label in text.split("\x00"):
                frame = {"boxstyle": "round", "fc": "white", "ec": "#999"}
                artist = figure.text(x, top, f" {label} ", fontsize=9, va="top", bbox=frame)
                figure.canvas.draw()  # the box's real width places the next button
                box = artist.get_window_extent()
                x += box.width / figure.bbox.width + 0.015
            y -= LINE * 1.5
            continue
        size, weight, color, family = {
            "header": (13, "bold", "#1d1c1d", "sans-serif"),
            "context": (8, "normal", "#616061", "sans-serif"),
            "bold": (9, "bold", "#1d1c1d", "sans-serif"),
            "code": (8, "normal", "#333333", "monospace"),
        }.get(style, (9, "normal", "#1d1c1d", "sans-serif"))
        figure.text(
            x, top, text, fontsize=size, fontweight=weight, color=color, va="top", family=family
        )
        y -= LINE * (1.4 if style == "header" else 1.0)


def _bar(figure: Figure, x: float, y: float, h: float, color: str) -> Any:
    from matplotlib.patches import Rectangle

    return Rectangle((x, y), 0.006, h, transform=figure.transFigure, color=color)


def preview_png(message: dict[str, Any]) -> bytes:
    """PNG bytes of the message drawn roughly as Slack shows it."""
    rows: list[tuple[str, str, str | None]] = []
    for block in message.get("blocks", []):
        rows += [(s, t, None) for s, t in _lines(block)]
    for attachment in message.get("attachments", []):
        color = str(attachment.get("color", "#ddd"))
        for i, block in enumerate(attachment.get("blocks", [])):
            if i:
                rows.append(("text", "", color))
            rows += [(s, t, color) for s, t in _lines(block)]
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    height = 0.6 + LINE * sum(1.5 if s in ("header", "buttons") else 1.0 for s, _, _ in rows)
    figure = Figure(figsize=(10, height), dpi=100, facecolor="white")
    FigureCanvasAgg(figure)
    out = io.BytesIO()
    with warnings.catch_warnings():
        # A glyph missing from the font (log text can hold anything) draws as a box.
        warnings.simplefilter("ignore", UserWarning)
        _draw(figure, rows, height)
        figure.savefig(out, format="png")
    return out.getvalue()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tools.slack_preview",
        description="Draw a triage report's Slack message as a PNG and write its Block Kit.",
        epilog="Writes OUT (PNG) and the Block Kit JSON (OUT with .json, or --blocks);"
        " never over REPORT.",
    )
    parser.add_argument("report", type=Path, help="a triage report: triage-bot triage --json")
    parser.add_argument("out", type=Path, help="the PNG to write")
    parser.add_argument("--blocks", type=Path, help="where the Block Kit JSON goes")
    return parser


def _read_report(path: Path) -> TriageReport | str:
    """The report, or one line saying why not."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror or exc}"
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return f"{path} is not JSON: {exc}"
    if isinstance(data, dict) and "groupKey" in data and "verdict" not in data:
        return (
            f"{path} is an Alertmanager webhook, not a triage report: make one with"
            f" `triage-bot triage {path} --json > report.json`"
        )
    if not isinstance(data, dict):
        return f"{path} is not a triage report (expected a JSON object)"
    try:
        return TriageReport.from_dict(data)
    except ValidationError as exc:
        count = exc.error_count()
        more = f" (and {count - 1} more)" if count > 1 else ""
        return f"{path} is not a triage report: {first_error(exc, '(top level)')}{more}"
    except (KeyError, TypeError, ValueError) as exc:
        return f"{path} is not a triage report: {type(exc).__name__}: {exc}"


def main(argv: list[str]) -> int:
    """`REPORT.json OUT.png [--blocks PATH]`: write the preview and the Block Kit JSON."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2), already printed
        return int(exc.code or 0)
    blocks: Path = args.blocks or args.out.with_suffix(".json")
    source = args.report.resolve()
    for what, target in (("the PNG", args.out), ("the Block Kit", blocks)):
        if target.resolve() == source:
            sys.stderr.write(
                f"preview: {what} would overwrite the input report {args.report}:"
                " choose another OUT name or pass --blocks PATH\n"
            )
            return 2
    report = _read_report(args.report)
    if isinstance(report, str):
        sys.stderr.write(f"preview: {' '.join(report.split())}\n")
        return 2
    message = render_message(report, mentions=("<!subteam^S0ONCALL>",))
    try:
        args.out.write_bytes(preview_png(message))
        blocks.write_text(json.dumps(message, indent=2, ensure_ascii=False) + "\n")
    except OSError as exc:
        sys.stderr.write(f"preview: cannot write {exc.filename}: {exc.strerror or exc}\n")
        return 1
    sys.stdout.write(f"wrote {args.out} and {blocks}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
