"""Failure clusters: failures whose texts read alike, grouped by embedding similarity.

The texts are the errors of failed runs and the messages of failed tool calls (a run may recover
from those, but they are failures the model saw). Each distinct text (numbers and ids blanked) is
embedded once with the store's embedder; clusters grow greedily from the most frequent text, a text
joining the first cluster whose centroid is within `cluster_similarity`. With the default offline
embedder "alike" means shared words and word pieces; configure a semantic embedder for meaning.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import TYPE_CHECKING, Any

from agentnb import semconv as A
from agentnb.meta import _stats
from agentnb.meta._data import SPAN_FIELDS, Data, Thresholds, attributes, rows, shape
from agentnb.meta.report import EVIDENCE_LIMIT, Finding, Measure

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["cluster_findings"]

_MAX_TEXTS = 2000
"""Distinct failure texts clustered (the most frequent); the rest are rare by construction."""
_SHOWN = 5


def _failures(data: Data) -> tuple[dict[str, list[str]], dict[str, Counter[str]]]:
    """Failure text → run ids (newest first), and text → where it came from."""
    runs: dict[str, list[str]] = defaultdict(list)
    sources: dict[str, Counter[str]] = defaultdict(Counter)
    for row in data.runs.select(["trace_id", "status", "error_type", "error"]).to_pylist():
        if row["status"] == "error" and row["error"]:
            text = shape(row["error"])
            runs[text].append(row["trace_id"])
            sources[text][f"run:{row['error_type']}"] += 1
    for row in rows(data.tool_errors, SPAN_FIELDS):
        message = attributes(row).get(A.AGENTNB_ERROR_MESSAGE)
        if message:
            text = shape(str(message))
            runs[text].append(row["trace_id"])
            sources[text][f"tool:{row['tool']}:{row['error_type']}"] += 1
    return runs, sources


def _greedy(vectors: npt.NDArray[np.float32], threshold: float) -> list[list[int]]:
    import numpy as np

    centroids: list[npt.NDArray[np.float32]] = []
    members: list[list[int]] = []
    for i, v in enumerate(vectors):
        if centroids:
            sims = np.stack(centroids) @ v
            best = int(np.argmax(sims))
            if sims[best] >= threshold:
                members[best].append(i)
                c = vectors[members[best]].mean(axis=0)
                centroids[best] = c / (np.linalg.norm(c) or 1.0)
                continue
        centroids.append(v)
        members.append([i])
    return members


def cluster_findings(data: Data, t: Thresholds) -> list[Finding]:
    n = data.runs.num_rows
    if n == 0:
        return []
    runs, sources = _failures(data)
    if not runs:
        return []
    texts = sorted(runs, key=lambda s: -len(runs[s]))[:_MAX_TEXTS]
    vectors = data.store.embedder.embed(texts)
    clusters = _greedy(vectors, t.cluster_similarity)
    order = {r: i for i, r in enumerate(data.run_ids.to_pylist())}
    findings = []
    for members in clusters:
        member_texts = [texts[i] for i in members]
        failures = sum(len(runs[s]) for s in member_texts)
        run_ids = sorted(
            {r for s in member_texts for r in runs[s]}, key=lambda r: order.get(r, len(order))
        )
        share = len(run_ids) / n
        if not t.reported(len(run_ids), share):
            continue
        where: Counter[str] = Counter()
        for s in member_texts:
            where.update(sources[s])
        label = member_texts[0]
        low, high = _stats.wilson(len(run_ids), n)
        details: dict[str, Any] = {
            "failures": failures,
            "members": [(s, len(runs[s])) for s in member_texts[:_SHOWN]],
            "distinct_texts": len(member_texts),
            "sources": where.most_common(_SHOWN),
        }
        findings.append(
            Finding(
                kind="failure_cluster",
                subject=_label(label),
                severity="info" if share < t.warning else "warning",
                title=f"{failures:,} failures in {len(run_ids):,} runs read like: {_label(label)}",
                measure=Measure(
                    name="runs in cluster", value=share, unit="share", n=n, low=low, high=high
                ),
                details=details,
                runs=run_ids[:EVIDENCE_LIMIT],
                run_count=len(run_ids),
            )
        )
    return findings


def _label(text: str, limit: int = 90) -> str:
    first = text.splitlines()[0] if text else ""
    return first if len(first) <= limit else first[: limit - 1] + "…"
