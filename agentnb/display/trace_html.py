"""Static HTML for a run's trace payload: what a notebook shows under the cell.

`render_trace(payload)` takes a trace payload (schema: `agentnb.display.trace`) and returns a
self-contained fragment: the run's status and totals (with a red badge for every guard that
raised), the prompt and the answer, an alert for
every blocked action, then the trace (each model call with tokens and latency, each tool call with
its arguments and result, each guard verdict with a badge and its reason, a timing bar per row)
and the monitor findings.

It needs no server and no script: one `<style>` block scoped under `.agentnb-trace`, `<details>`
for collapsing and for "show more". It degrades in steps where front ends sanitise HTML:

- JupyterLab / Notebook (trusted), VS Code, nbconvert: everything; JupyterLab's `--jp-*` theme
  variables when present, else `prefers-color-scheme` picks light or dark fallbacks. Colours are
  otherwise translucent, so the fragment reads on any background.
- Untrusted JupyterLab output drops `<style>` but keeps `style=""`: badges, alerts and timing
  bars carry their colours inline, so the verdicts stay coloured.
- Renderers that drop all styling (GitHub): semantic tables, and badges that say what they mean
  in words and symbols (`✓ pass`, `⚠ warn`, `⊘ block`).

Badges, texts, numbers and the shared rules of the stylesheet come from `agentnb.display.html`;
`trace.css` adds the trace's own rules.

Every text from the run is escaped. Long texts show a preview and a `<details>` "show more"
holding the rest (capped at `agentnb.display.html.MAX_TEXT` characters; the trace JSON always
has all of it).

>>> html = render_trace(payload)  # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from html import escape
from pathlib import Path
from typing import Any

from agentnb import semconv as A
from agentnb.display.html import (
    COLOURS,
    badge,
    format_cost,
    format_duration,
    minify_css,
    stylesheet,
    text_block,
)

__all__ = ["ROOT_CLASS", "guard_errors", "render_trace"]

ROOT_CLASS = "agentnb-trace"

_RED, _DARK_RED, _GREY = COLOURS["red"], COLOURS["dark_red"], COLOURS["grey"]
_SEVERITY = {"info": "info", "warning": "warning", "error": "severe"}
_BAR_COLOURS = {
    "chat": COLOURS["blue"],
    "execute_tool": COLOURS["purple"],
    "guard": _GREY,
    "monitor": COLOURS["amber"],
}
_STATUS_BAR = {"blocked": _RED, "error": _DARK_RED, "warn": COLOURS["amber"]}
_CSS = stylesheet(ROOT_CLASS) + minify_css((Path(__file__).parent / "trace.css").read_text("utf-8"))


def render_trace(payload: Mapping[str, Any]) -> str:
    """The HTML fragment for a trace payload (schema: `agentnb.display.trace`)."""
    spans = payload.get("spans", [])
    status = str(payload.get("status", "ok"))
    parts = [
        f'<div class="{ROOT_CLASS}" data-status="{escape(status)}">',
        f"<style>{_CSS}</style>",
        _head(payload),
        _blocked_alert(spans),
        _error_alert(payload),
        _prompt_and_answer(payload),
        _trace_table(payload),
        _findings(spans),
        _foot(payload),
        "</div>",
    ]
    return "\n".join(p for p in parts if p)


# --- sections -----------------------------------------------------------------------------------


def _head(p: Mapping[str, Any]) -> str:
    totals = p.get("totals", {})
    steps, calls = totals.get("steps", 0), totals.get("tool_calls", 0)
    tokens = totals.get("total_tokens", 0)
    verdicts: Mapping[str, int] = totals.get("verdicts", {})
    checks = ", ".join(f"{n} {o}" for o, n in verdicts.items() if n)
    items = [
        f"<b>{steps}</b> step{_s(steps)}",
        f"<b>{calls}</b> tool call{_s(calls)}",
        f'<span title="{totals.get("input_tokens", 0):,} input · '
        f'{totals.get("output_tokens", 0):,} output"><b>{tokens:,}</b> tokens</span>',
        f"<b>{format_cost(totals.get('cost'))}</b>",
        f"<b>{format_duration(float(p.get('duration', 0.0)))}</b>",
    ]
    if checks:
        items.append(f"guards: {escape(checks)}")
    # A guard that raised fails closed (the action is stopped) yet the run may still be `ok`:
    # its own red badge beside the status says which guard has a bug.
    failed = "".join(badge("guard-error", f"guard error: {name}") + " " for name in guard_errors(p))
    return (
        '<div class="anb-head">'
        f"{badge('status-' + str(p.get('status', 'ok')), caps=True)} {failed}"
        f'<span class="anb-title">{escape(str(p.get("agent", "")))} '
        f'<span class="anb-muted">{escape(str(p.get("agent_version", "")))} · '
        f"{escape(str(p.get('model', '')))}</span></span> "
        f'<span class="anb-totals">{" · ".join(items)}</span>'
        "</div>"
    )


def guard_errors(payload: Mapping[str, Any]) -> list[str]:
    """The names of the guards that raised during the run (verdict outcome `error`), each once,
    in the order they first failed.

    >>> guard_errors({"spans": [{"kind": "guard", "attributes": {
    ...     "agentnb.guard.name": "pii", "agentnb.guard.outcome": "error"}}]})
    ['pii']
    """
    names = [
        str(s.get("attributes", {}).get(A.AGENTNB_GUARD_NAME))
        for s in payload.get("spans", [])
        if s.get("kind") == "guard"
        and s.get("attributes", {}).get(A.AGENTNB_GUARD_OUTCOME) == "error"
    ]
    return list(dict.fromkeys(names))


def _blocked_alert(spans: list[Mapping[str, Any]]) -> str:
    stops = [s for s in spans if s.get("kind") == "guard" and s.get("status") == "blocked"]
    if not stops:
        return ""
    lines = []
    for g in stops:
        a = g["attributes"]
        what = _stopped_what(str(a.get(A.AGENTNB_GUARD_POINT, "")), a)
        reason = a.get(A.AGENTNB_GUARD_REASON) or "no reason given"
        lines.append(
            f"<p>{badge('blocked', caps=True)} <b>{what}</b>"
            f"{_step_note(g.get('step'))} — guard <code>{escape(str(a.get(A.AGENTNB_GUARD_NAME)))}"
            f"</code>: {escape(_first_line(str(reason)))} "
            f'<span class="anb-muted">(action: {escape(str(a.get(A.AGENTNB_GUARD_ACTION)))})'
            "</span></p>"
        )
    n = len(stops)
    title = f"{n} action{_s(n)} blocked by guards"
    return (
        f'<div class="anb-alert anb-alert-block" style="border-color:{_RED};'
        f'background:rgba(207,34,46,.09)" role="alert">'
        f'<p class="anb-alert-title" style="font-weight:700">⊘ {title}</p>{"".join(lines)}</div>'
    )


def _stopped_what(point: str, attrs: Mapping[str, Any]) -> str:
    tool = escape(str(attrs.get(A.AGENTNB_GUARD_TARGET) or ""))
    return {
        "input": "the prompt",
        "model_output": "a model turn",
        "final_output": "the answer",
        "tool_call": f"tool call <code>{tool}</code>",
        "tool_result": f"the result of <code>{tool}</code>",
    }.get(point, escape(point))


def _error_alert(p: Mapping[str, Any]) -> str:
    error = p.get("error")
    if not error:
        return ""
    kind = escape(str(p.get("error_type") or "Error"))
    return (
        f'<div class="anb-alert anb-alert-error" style="border-color:{_DARK_RED};'
        f'background:rgba(164,14,38,.08)" role="alert">'
        f'<p class="anb-alert-title" style="font-weight:700">✕ {kind}</p>'
        f"{text_block(str(error))}</div>"
    )


def _prompt_and_answer(p: Mapping[str, Any]) -> str:
    output = p.get("output")
    status = p.get("status")
    if output is None:
        note = {"cancelled": "no answer: the run was cancelled"}.get(
            str(status), "no answer: the run failed"
        )
        answer = f'<div class="anb-answer anb-failed"><span class="anb-muted">{note}</span></div>'
    else:
        failed = " anb-failed" if status != "ok" else ""
        if isinstance(output, str):
            body = text_block(output)
        else:  # a typed agent's validated object, as JSON
            body = text_block(json.dumps(output, indent=2, ensure_ascii=False), code=True)
        answer = f'<div class="anb-answer{failed}">{body}</div>'
    return (
        '<div class="anb-qa">'
        f'<div class="anb-label">Prompt</div><div>{text_block(str(p.get("prompt", "")))}</div>'
        f'<div class="anb-label">Answer</div>{answer}'
        "</div>"
    )


def _trace_table(p: Mapping[str, Any]) -> str:
    spans = [s for s in p.get("spans", []) if s.get("kind") in ("chat", "execute_tool", "guard")]
    total = float(p.get("duration") or 0.0)
    by_id = {s["id"]: s for s in p.get("spans", [])}
    rows = [_row(s, by_id, total) for s in spans]
    if not rows:
        rows = ['<tr class="anb-row"><td colspan="5" class="anb-muted">no model calls</td></tr>']
    totals = p.get("totals", {})
    steps = totals.get("steps", 0)
    n_verdicts = sum(totals.get("verdicts", {}).values())
    summary = f"Trace · {steps} step{_s(steps)} · {n_verdicts} guard verdict{_s(n_verdicts)}"
    return (
        f'<details class="anb-section" open><summary>{summary}</summary><div class="anb-scroll">'
        '<table class="anb-tab"><colgroup><col style="width:23%"><col>'
        '<col style="width:92px"><col style="width:74px"><col style="width:16%"></colgroup>'
        "<thead><tr><th>span</th><th>details</th>"
        '<th class="anb-num" title="input → output tokens">tokens</th>'
        f'<th class="anb-num">time</th><th>0 – {format_duration(total)}</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div></details>"
    )


def _row(s: Mapping[str, Any], by_id: Mapping[str, Mapping[str, Any]], total: float) -> str:
    kind = s["kind"]
    a: Mapping[str, Any] = s.get("attributes", {})
    status = str(s.get("status", "ok"))
    level = _level(s, by_id)
    classes = ["anb-row", f"anb-{kind}", f"anb-st-{status}"]
    if level:
        classes.append("anb-sub")
    if status == "blocked":
        classes.append("anb-stop")
    tokens = time = ""
    if kind == "chat":
        what = (
            f'<span class="anb-step">Step {s.get("step")}</span> '
            f'<span class="anb-kind">model</span> '
            f"<code>{escape(str(a.get(A.GEN_AI_RESPONSE_MODEL) or a.get(A.GEN_AI_REQUEST_MODEL)))}"
            "</code>"
        )
        detail = _chat_detail(a, status)
        tokens_in, tokens_out = (
            a.get(A.GEN_AI_USAGE_INPUT_TOKENS, 0),
            a.get(A.GEN_AI_USAGE_OUTPUT_TOKENS, 0),
        )
        tokens = f"{tokens_in:,} → {tokens_out:,}"
        if a.get(A.AGENTNB_COST) is not None:
            tokens += f'<br><span class="anb-muted">{format_cost(a[A.AGENTNB_COST])}</span>'
        time = format_duration(float(s.get("duration", 0.0)))
    elif kind == "execute_tool":
        mark = ""
        if status == "blocked":
            mark = " " + badge("blocked", caps=True)
        elif status == "error":
            mark = " " + badge("failed", label=str(a.get(A.ERROR_TYPE, "error")))
        what = (
            f'<span class="anb-kind">tool</span> '
            f"<code>{escape(str(a.get(A.GEN_AI_TOOL_NAME)))}</code>{mark}"
        )
        detail = _tool_detail(a, status)
        time = format_duration(float(s.get("duration", 0.0)))
    else:  # guard
        outcome = str(a.get(A.AGENTNB_GUARD_OUTCOME, "pass"))
        what = (
            f'{badge(outcome)} <span class="anb-kind">guard</span> '
            f"{escape(str(a.get(A.AGENTNB_GUARD_NAME)))}"
        )
        detail = _guard_detail(a, status)
        time = format_duration(float(s.get("duration", 0.0)))
    pad = f' class="anb-what anb-l{level}"' if level else ' class="anb-what"'
    return (
        f'<tr class="{" ".join(classes)}" data-span="{escape(str(s["id"]))}">'
        f"<td{pad}>{what}</td><td>{detail}</td>"
        f'<td class="anb-num">{tokens}</td><td class="anb-num">{time}</td>'
        f"<td>{_bar(s, total)}</td></tr>"
    )


def _level(s: Mapping[str, Any], by_id: Mapping[str, Mapping[str, Any]]) -> int:
    """Indentation: tool calls under their step, guards under what they checked."""
    kind = s["kind"]
    if kind == "execute_tool":
        return 1
    if kind == "guard":
        parent = by_id.get(s.get("parent_id") or "")
        if parent is None or parent["kind"] == "invoke_agent":
            return 0
        return min(2, _level(parent, by_id) + 1)
    return 0


def _chat_detail(a: Mapping[str, Any], status: str) -> str:
    messages = a.get(A.GEN_AI_OUTPUT_MESSAGES) or []
    parts = [part for m in messages for part in m.get("parts", [])]
    text = "".join(str(part.get("content", "")) for part in parts if part.get("type") == "text")
    calls = [str(part.get("name")) for part in parts if part.get("type") == "tool_call"]
    out = []
    if text:
        out.append(text_block(text))
    if calls:
        named = ", ".join(f"<code>{escape(c)}</code>" for c in calls)
        out.append(f'<div class="anb-muted">calls {named}</div>')
    if not out:
        out.append('<span class="anb-muted">(empty turn)</span>')
    if status == "blocked":
        out.append('<div class="anb-stopped">turn blocked by a guard</div>')
    return "".join(out)


def _tool_detail(a: Mapping[str, Any], status: str) -> str:
    out = [
        _field("args", text_block(_pretty(str(a.get(A.GEN_AI_TOOL_CALL_ARGUMENTS, ""))), code=True))
    ]
    if A.GEN_AI_TOOL_CALL_RESULT in a:
        out.append(
            _field("result", text_block(_pretty(str(a[A.GEN_AI_TOOL_CALL_RESULT])), code=True))
        )
    else:
        message = text_block(str(a.get(A.AGENTNB_ERROR_MESSAGE, "")))
        label = "blocked" if status == "blocked" else "error"
        out.append(_field(label, f'<div class="anb-stopped">{message}</div>'))
    return "".join(out)


def _guard_detail(a: Mapping[str, Any], status: str) -> str:
    reason = str(a.get(A.AGENTNB_GUARD_REASON) or "")
    point = escape(str(a.get(A.AGENTNB_GUARD_POINT, "")))
    action = escape(str(a.get(A.AGENTNB_GUARD_ACTION, "")))
    where = f'<div class="anb-muted">at {point} · action: {action}</div>'
    if not reason:
        return where
    body = text_block(reason)
    if status == "blocked":
        body = f'<div class="anb-stopped">{body}</div>'
    return body + where


def _findings(spans: list[Mapping[str, Any]]) -> str:
    found = [s for s in spans if s.get("kind") == "monitor"]
    if not found:
        return ""
    items = []
    for s in found:
        a = s.get("attributes", {})
        evidence = a.get(A.AGENTNB_MONITOR_EVIDENCE)
        more = ""
        if evidence:
            shown = text_block(json.dumps(evidence, indent=2, ensure_ascii=False), code=True)
            more = f'<details class="anb-more"><summary>evidence</summary>{shown}</details>'
        items.append(
            f'<li class="anb-finding" data-span="{escape(str(s["id"]))}">'
            f"{badge(_SEVERITY.get(str(a.get(A.AGENTNB_MONITOR_SEVERITY)), 'info'))} "
            f"<code>{escape(str(a.get(A.AGENTNB_MONITOR_NAME)))}</code> "
            f"{escape(str(a.get(A.AGENTNB_MONITOR_MESSAGE, '')))}{more}</li>"
        )
    return (
        '<details class="anb-section" open>'
        f"<summary>Monitor findings · {len(found)}</summary>"
        f'<ul class="anb-findings">{"".join(items)}</ul></details>'
    )


def _foot(p: Mapping[str, Any]) -> str:
    return f'<div class="anb-foot">run {escape(str(p.get("run_id", "")))}</div>'


# --- pieces -------------------------------------------------------------------------------------


def _bar(s: Mapping[str, Any], total: float) -> str:
    if total <= 0:
        return ""
    start = min(max(float(s.get("start", 0.0)) / total, 0.0), 1.0)
    width = min(float(s.get("duration", 0.0)) / total, 1.0 - start)
    colour = _STATUS_BAR.get(str(s.get("status")), _BAR_COLOURS.get(str(s.get("kind")), _GREY))
    begin, length = float(s.get("start", 0.0)), float(s.get("duration", 0.0))
    title = f"{format_duration(begin)} → +{format_duration(length)}"
    # Inline styles too: they survive sanitisers that drop the <style> block.
    return (
        f'<div class="anb-track" title="{escape(title)}" style="position:relative;height:8px;'
        'margin-top:5px;border-radius:2px;background:rgba(128,128,128,.1)">'
        f'<div class="anb-bar" style="position:absolute;top:0;height:8px;min-width:2px;'
        f"border-radius:2px;left:{start * 100:.2f}%;width:{width * 100:.2f}%;"
        f'background:{colour}"></div></div>'
    )


def _field(label: str, body: str) -> str:
    return f'<div class="anb-field"><span>{label}</span><div>{body}</div></div>'


def _pretty(text: str) -> str:
    """JSON that does not fit on a line, indented; anything else unchanged."""
    if len(text) <= 100:
        return text
    try:
        value = json.loads(text)
    except ValueError:
        return text
    if not isinstance(value, (dict, list)):
        return text
    return json.dumps(value, indent=2, ensure_ascii=False)


def _step_note(step: Any) -> str:
    return f' <span class="anb-muted">(step {int(step)})</span>' if step else ""


def _first_line(text: str, limit: int = 200) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _s(n: int) -> str:
    return "" if n == 1 else "s"
