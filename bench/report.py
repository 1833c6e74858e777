"""Result rows, targets, the printed table and the JSON file."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

SERVERS = ("dockyard", "distribution")


@dataclass(frozen=True)
class Target:
    """What a row must reach.

    ``kind="ratio"``: the ratio (Dockyard / Distribution, or Dockyard / ``reference``) compared
    with ``value``; ``kind="absolute"``: the Dockyard figure itself compared with ``value``.
    """

    op: Literal[">=", "<=", "=="]
    value: float
    kind: Literal["ratio", "absolute"] = "ratio"
    unit: str = ""

    def describe(self) -> str:
        if self.kind == "ratio":
            return f"{self.op} {self.value:g}x"
        return f"{self.op} {self.value:g} {self.unit}".rstrip()

    def check(self, figure: float) -> bool:
        if self.op == ">=":
            return figure >= self.value
        if self.op == "<=":
            return figure <= self.value
        return math.isclose(figure, self.value)


@dataclass
class Row:
    """One line of the table: a figure for each server, a ratio, a target."""

    workload: str
    name: str
    unit: str
    dockyard: float | None = None
    distribution: float | None = None
    target: Target | None = None
    #: Compare Dockyard with this figure instead of Distribution's (e.g. its own anonymous rate).
    reference: float | None = None
    reference_label: str = ""
    show_ratio: bool = True
    note: str = ""
    errors: dict[str, str] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    def figure(self, server: str) -> float | None:
        return self.dockyard if server == "dockyard" else self.distribution

    def set(self, server: str, value: float | None) -> None:
        if server == "dockyard":
            self.dockyard = value
        else:
            self.distribution = value

    @property
    def ratio(self) -> float | None:
        """Dockyard / Distribution (or / ``reference``), when both are known."""
        base = self.reference if self.reference is not None else self.distribution
        if not self.show_ratio or self.dockyard is None or base is None or base == 0:
            return None
        return self.dockyard / base

    @property
    def passed(self) -> bool | None:
        """None without a target; False when a needed figure is missing."""
        if self.target is None:
            return None
        figure = self.ratio if self.target.kind == "ratio" else self.dockyard
        if figure is None:
            return False
        return self.target.check(figure)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["target"] = self.target.describe() if self.target else None
        data["ratio"] = self.ratio
        data["passed"] = self.passed
        return data


def fmt_number(value: float | None) -> str:
    if value is None:
        return "-"
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def _cell(row: Row, server: str) -> str:
    value = row.figure(server)
    if value is None:
        if server == "distribution" and row.reference is not None:
            return "n/a"
        return "ERROR" if server in row.errors else "-"
    return f"{fmt_number(value)} {row.unit}"


def _result(row: Row) -> str:
    if row.errors and row.passed is not True:
        return "ERROR"
    if row.passed is None:
        return ""
    return "pass" if row.passed else "FAIL"


def format_table(rows: list[Row]) -> str:
    """A plain-text table, one row per measured figure, notes underneath."""
    header = ("workload", "Dockyard", "Distribution", "ratio", "target", "result")
    lines: list[tuple[str, ...]] = []
    notes: list[str] = []
    for row in rows:
        ratio = row.ratio
        ratio_text = "-" if ratio is None else f"{ratio:.2f}x"
        if ratio is not None and row.reference is not None:
            ratio_text += "*"
            notes.append(
                f"* {row.name}: ratio against {row.reference_label} "
                f"({fmt_number(row.reference)} {row.unit})"
            )
        target = row.target.describe() if row.target else ""
        lines.append(
            (
                row.name,
                _cell(row, "dockyard"),
                _cell(row, "distribution"),
                ratio_text,
                target,
                _result(row),
            )
        )
        for server, message in row.errors.items():
            notes.append(f"! {row.name} [{server}]: {message}")
    widths = [max(len(line[i]) for line in [header, *lines]) for i in range(len(header))]
    aligns = ["<", ">", ">", ">", "<", "<"]

    def render(line: tuple[str, ...]) -> str:
        cells = [
            f"{text:{align}{width}}"
            for text, align, width in zip(line, aligns, widths, strict=True)
        ]
        return "  ".join(cells).rstrip()

    out = [render(header), render(tuple("-" * width for width in widths))]
    out.extend(render(line) for line in lines)
    if notes:
        out.append("")
        out.extend(dict.fromkeys(notes))
    return "\n".join(out)


def write_json(path: Path, meta: dict[str, Any], rows: list[Row]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"meta": meta, "rows": [row.as_json() for row in rows]}
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(document, indent=2, default=str) + "\n")
    tmp.replace(path)
