"""Every evidence kind as one pydantic union tagged by `kind`, and what a collector returns.

`AnyEvidence` is what a collector may return (`model.collector.Collector`) and what a
`CollectorResult` holds, so a whole `TriageReport` (de)serialises through one pydantic
adapter (`model.report`) and each stored evidence comes back as its own kind. A new kind
is a dataclass in one of the evidence modules, added to the union here.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, get_args

from pydantic import Field, PlainSerializer, TypeAdapter

from bot.model.cluster_evidence import (
    AutoscalerEvidence,
    EventsEvidence,
    LogsEvidence,
    NodesEvidence,
    PodsEvidence,
)
from bot.model.kserve_evidence import InferenceServiceEvidence
from bot.model.signal_evidence import DriftEvidence, MetricsEvidence

AnyEvidence = Annotated[
    InferenceServiceEvidence
    | PodsEvidence
    | EventsEvidence
    | LogsEvidence
    | NodesEvidence
    | AutoscalerEvidence
    | MetricsEvidence
    | DriftEvidence,
    Field(discriminator="kind"),
]


@dataclass(frozen=True)
class CollectorResult:
    """What one collector returned: evidence, or a note saying why not."""

    collector: str
    evidence: AnyEvidence | None = None
    note: str = ""
    # Stored to 0.1 ms: the digits beyond are timer noise.
    seconds: Annotated[float, PlainSerializer(lambda s: round(s, 4), return_type=float)] = 0.0


@cache
def _adapter() -> TypeAdapter[AnyEvidence]:
    # Built on first use, not at import: building costs milliseconds of start-up.
    return TypeAdapter(AnyEvidence)


def evidence_to_dict(evidence: AnyEvidence) -> dict[str, Any]:
    """JSON-ready dict of one evidence value, its `kind` first (export-case, the corpus)."""
    data: dict[str, Any] = _adapter().dump_python(evidence, mode="json")
    return data


def evidence_from_dict(data: dict[str, Any]) -> AnyEvidence:
    """The typed evidence back from `evidence_to_dict`; `ValidationError` for an unknown kind."""
    return _adapter().validate_python(data)


@cache
def known_kinds() -> frozenset[str]:
    """The `kind` tags of the union, for readers that skip evidence of a newer version."""
    union = get_args(AnyEvidence)[0]  # Annotated[union, Field]: the union
    return frozenset(str(member.kind) for member in get_args(union))
