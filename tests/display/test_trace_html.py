"""The static HTML of a run and the MIME bundle a notebook stores for it."""

from __future__ import annotations

import re
from collections.abc import Callable
from html import escape
from html.parser import HTMLParser
from typing import Any, ClassVar

import pytest
from IPython.core.formatters import DisplayFormatter

from agentnb import Agent, FunctionModel, Verdict, guard, tool, tool_call
from agentnb.agents import RunResult
from agentnb.display import html
from agentnb.display.html import MAX_TEXT, PREVIEW_CHARS
from agentnb.display.trace import TRACE_MIME
from agentnb.display.trace_html import render_trace
from agentnb.events import MonitorFinding
from agentnb.guards import ToolCallView
from agentnb.runs import trace as trace_module
from agentnb.runs.trace import trace_payload

Script = Callable[..., FunctionModel]
XSS = "<script>window.pwned = 1</script><img src=x onerror=alert(1)>"


@tool
def convert(amount: float, currency: str = "EUR") -> dict[str, Any]:
    """Convert US dollars."""
    return {"amount_usd": amount, "converted": round(amount * 0.76, 2), "note": XSS}


@tool
def delete_account(user: str) -> str:
    """Delete a user account."""
    return "deleted"


@guard("tool_call")
def no_deletes(call: ToolCallView) -> Verdict:
    if call.name == "delete_account":
        return Verdict.block("deleting accounts needs a human & <b>a ticket</b>")
    return Verdict.allow()


@guard("final_output", on_fail="warn")
def polite(text: str) -> Verdict:
    return Verdict.warn("the answer has no greeting")


def run_demo(script: Script, answer: str = "12.5 USD is 9.5 GBP.") -> RunResult:
    """A tool call, a blocked tool call and a warning: the three kinds of badge."""
    model = script(
        tool_call("convert", amount=12.5, currency="GBP"),
        tool_call("delete_account", user="bob"),
        answer,
    )
    agent = Agent(
        "fx",
        model=model,
        tools=[convert, delete_account],
        guards=[no_deletes, polite],
        telemetry=False,
    )
    return agent.run_sync(f"Convert 12.5 USD to GBP {XSS}")


class _Checker(HTMLParser):
    """Fails on a closing tag that does not match the open one; records tags and text."""

    VOID: ClassVar[set[str]] = {"br", "img", "col", "hr", "input", "meta", "link", "wbr"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack[-1:] == [tag], f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(fragment: str) -> _Checker:
    checker = _Checker()
    checker.feed(fragment)
    checker.close()
    assert checker.stack == [], f"unclosed: {checker.stack}"
    return checker


def test_the_bundle_through_ipythons_display_pipeline(script: Script) -> None:
    result = run_demo(script)
    data, metadata = DisplayFormatter().format(result)

    assert data == {
        "text/plain": result.summary(),
        "text/html": render_trace(trace_payload(result)),
        TRACE_MIME: trace_payload(result),
    }
    assert metadata == {}


def test_include_and_exclude_build_only_what_is_asked(
    script: Script, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_demo(script)

    def refuse(_: Any) -> dict[str, Any]:
        raise AssertionError("the trace was built though nobody asked for it")

    monkeypatch.setattr(trace_module, "trace_payload", refuse)
    assert result._repr_mimebundle_(include={"text/plain"}) == {"text/plain": result.summary()}
    assert result._repr_mimebundle_(exclude={"text/html", TRACE_MIME}) == {
        "text/plain": result.summary()
    }


def test_what_the_reader_sees(script: Script) -> None:
    result = run_demo(script)
    page = render_trace(trace_payload(result))
    text = " ".join(" ".join(parse(page).text).split())

    # the answer first, then the trace: steps, model calls with tokens, tools with arguments and
    # results, every verdict with its badge and reason, the totals
    assert text.index("12.5 USD is 9.5 GBP.") < text.index("Step 1")
    assert [f"Step {n}" in text for n in (1, 2, 3)] == [True] * 3
    assert len(re.findall(r'<tr class="anb-row anb-chat ', page)) == 3
    assert len(re.findall(r'<tr class="anb-row anb-execute_tool ', page)) == 2
    assert len(re.findall(r'<tr class="anb-row anb-guard ', page)) == 3
    tokens = [f"{s.usage.input_tokens} → {s.usage.output_tokens}" for s in result.steps]
    assert all(t in text for t in tokens)
    assert '"amount": 12.5, "currency": "GBP"' in text  # arguments
    assert '"converted": 9.5' in text  # result (indented: it is long)
    assert [text.count(b) for b in ("✓ pass", "⊘ block", "⚠ warn")] == [1, 1, 1]
    badges = re.findall(r'<span class="anb-badge (anb-b-[\w-]+)"', page)
    assert sorted(badges) == sorted(
        [
            *("anb-b-status-ok", "anb-b-blocked", "anb-b-blocked"),  # the alert, the tool's row
            *("anb-b-pass", "anb-b-block", "anb-b-warn"),  # one per verdict
        ]
    )
    assert "the answer has no greeting" in text
    assert f"3 steps · 2 tool calls · {result.usage.total_tokens} tokens · cost n/a" in text
    assert "guards: 1 pass, 1 warn, 1 block" in text
    assert f"run {result.run_id}" in text

    # a blocked action is unmistakable: an alert on top, a badge on the call, a tinted row
    assert "⊘ 1 action blocked by guards" in text
    assert "⊘ BLOCKED tool call delete_account (step 2) — guard no_deletes" in text
    assert (
        len(re.findall(r'<tr class="anb-row anb-execute_tool anb-st-blocked [^"]*anb-stop"', page))
        == 1
    )
    assert "blocked by guard no_deletes: deleting accounts needs a human & <b>a ticket</b>" in text


def test_every_text_is_escaped(script: Script) -> None:
    result = run_demo(script, answer=f"Done {XSS}")
    result.findings.append(
        MonitorFinding(result.run_id, "fx", "spy", "error", XSS, {"html": XSS}, t=result.perf_start)
    )
    page = render_trace(trace_payload(result))

    checker = parse(page)
    assert {"script", "img"}.isdisjoint(checker.tags)
    assert "<script" not in page
    assert "<img" not in page
    assert page.count(escape(XSS)) >= 3  # prompt, answer, finding (the tool result is JSON-quoted)
    assert "&lt;b&gt;a ticket&lt;/b&gt;" in page


def test_self_contained_and_scoped() -> None:
    page = render_trace(trace_payload(_bare_run()))
    (css,) = re.findall(r"<style>(.*?)</style>", page, re.S)

    assert not re.search(r"https?://|<script|<link|<iframe|@import|url\(", page)
    rules = re.sub(r"@media[^{]*\{(.*)\}\s*$", r"\1", css.replace("\n", " "), flags=re.S)
    selectors = [s.strip() for block in re.findall(r"([^{}]+)\{", rules) for s in block.split(",")]
    assert selectors, "no CSS rules found"
    assert all(s.startswith(".agentnb-trace") for s in selectors if s), selectors
    assert "@media (prefers-color-scheme:dark)" in css
    assert "var(--jp-ui-font-color2," in css


def test_long_texts_are_clipped_with_show_more_and_capped() -> None:
    long = "".join(f"line {i}: {'word ' * 12}\n" for i in range(5000))  # ~340 kB
    page = render_trace(trace_payload(_bare_run(output=long)))

    assert "show more (" in page
    visible, hidden = re.search(
        r'<div class="anb-answer"><div class="anb-prose">(.*?)</div>'
        r'<details class="anb-more"><summary>show more.*?</summary>'
        r'<div class="anb-prose">(.*?)</div></details>',
        page,
        re.S,
    ).groups()  # type: ignore[union-attr]
    assert visible.endswith("…")
    assert len(visible) <= PREVIEW_CHARS + 1
    assert visible.count("\n") < html.PREVIEW_LINES
    assert hidden.startswith(long[len(visible) - 1 : len(visible) + 20])
    assert f"{len(long) - MAX_TEXT:,} more characters not shown" in hidden
    assert len(page) < MAX_TEXT + 20_000


@pytest.mark.parametrize(
    ("status", "error", "output", "expected"),
    [
        ("error", "model openai:gpt-4.1 answered 500", None, "✕ ModelError"),
        ("cancelled", "KeyboardInterrupt", None, "no answer: the run was cancelled"),
        ("blocked", None, "I can't do that: blocked by guard x: y.", "⊘ BLOCKED"),
    ],
)
def test_the_run_status_and_its_error(
    status: str, error: str | None, output: str | None, expected: str
) -> None:
    result = _bare_run(status=status, error=error, output=output)
    result.error_type = "ModelError" if status == "error" else None
    page = render_trace(trace_payload(result))
    text = " ".join(" ".join(parse(page).text).split())

    assert f'data-status="{status}"' in page
    assert expected in text
    if error:
        assert error in text


def _bare_run(**changes: Any) -> RunResult:
    from agentnb.models import Usage

    fields: dict[str, Any] = {
        "run_id": "0" * 31 + "1",
        "agent": "fx",
        "version": "0.1.0",
        "model": "offline",
        "prompt": "hi",
        "output": "hello",
        "status": "ok",
        "messages": [],
        "steps": [],
        "usage": Usage(),
        "cost": 0.0,
        "duration": 0.01,
        "started_at": 0.0,
    }
    fields.update(changes)
    return RunResult(**fields)


def test_a_typed_answer_is_shown_as_json() -> None:
    page = render_trace(trace_payload(_bare_run(output={"order": "A-1", "amount": 30.0})))
    assert (
        '<div class="anb-answer"><pre>{\n  &quot;order&quot;: &quot;A-1&quot;,\n'
        "  &quot;amount&quot;: 30.0\n}</pre></div>"
    ) in page
