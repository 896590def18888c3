"""Async monitors: findings appear, crashes are isolated, slow monitors never slow the run."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentnb import Agent, AgentConfig, FunctionModel, tool, tool_call
from agentnb.config import ComponentRef
from agentnb.errors import ConfigProblem, UserError
from agentnb.events import (
    Event,
    GuardVerdict,
    MonitorFinding,
    RunFinished,
    RunStarted,
    StepFinished,
    ToolCallFinished,
)
from agentnb.guards.monitoring import (
    REGISTRY,
    Finding,
    Monitor,
    MonitorDefinitionError,
    MonitorHub,
    block_rate,
    cost,
    latency,
    monitor,
    output_length,
    resolve_monitors,
    tool_errors,
)
from agentnb.guards.monitoring.stats import Alarm, quantile
from agentnb.models import ModelRequest
from agentnb.models.messages import ToolCall, Usage, UserMessage
from agentnb.runs.result import RunResult

# -- fixtures and helpers -----------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _monitor_registry() -> Iterator[None]:
    """`@monitor` registers by name process-wide; put the registry back after each test."""
    saved = dict(REGISTRY)
    yield
    REGISTRY.clear()
    REGISTRY.update(saved)


@pytest.fixture
def watch() -> Iterator[Callable[..., MonitorHub]]:
    """`watch(agent, monitors, **hub_options)`: a hub subscribed through the public hook."""
    made: list[tuple[MonitorHub, Callable[[], None]]] = []

    def attach(agent: Agent, monitors: list[Monitor], **options: Any) -> MonitorHub:
        hub = MonitorHub(monitors, agent=agent.name, **options)
        made.append((hub, agent.on_event(hub.enqueue)))
        return hub

    yield attach
    for hub, unsubscribe in made:
        unsubscribe()
        hub.close()


def shape(finding: MonitorFinding) -> tuple[str, str, str]:
    return (finding.monitor, finding.severity, finding.message)


def echo_agent(name: str = "echo", reply: Callable[[ModelRequest], str] | None = None) -> Agent:
    play = reply or (lambda request: "done")
    return Agent(name, model=FunctionModel(play, name="echo"), telemetry=False)


def run_result(
    *,
    duration: float = 0.1,
    output: Any = "ok",
    cost_usd: float | None = 0.001,
    status: str = "ok",
    run_id: str = "r",
) -> RunResult:
    return RunResult(
        run_id=run_id,
        agent="a",
        version="0.1.0",
        model="function:echo",
        prompt="hi",
        output=output,
        status=status,  # type: ignore[arg-type]
        messages=[],
        steps=[],
        usage=Usage(),
        cost=cost_usd,
        duration=duration,
        started_at=0.0,
    )


def finished(**kw: Any) -> RunFinished:
    result = run_result(**kw)
    return RunFinished(result.run_id, result)


def messages_of(monitor_: Monitor, events: Sequence[Event]) -> list[tuple[str, str]]:
    """(severity, message) of every finding `monitor_` makes over `events`."""
    hub = MonitorHub([monitor_], agent="a")
    try:
        for event in events:
            hub.enqueue(event)
        assert hub.drain()
    finally:
        hub.close()
    return [
        (f.severity, f.message)
        for e in events
        if isinstance(e, RunFinished)
        for f in e.result.findings
    ]


# -- findings appear ----------------------------------------------------------------------------


def test_function_monitor_findings_reach_the_result_and_the_callback(
    watch: Callable[..., MonitorHub],
) -> None:
    @tool
    def lookup(order: str) -> str:
        """Look an order up."""
        time.sleep(0.02)
        return "shipped"

    def play(request: ModelRequest) -> Any:
        return tool_call("lookup", order="A1") if len(request.messages) == 1 else "shipped"

    @monitor
    def slow_tools(event: Event) -> str | None:
        if event.kind == "tool_call_finished" and event.duration > 0.01:
            return f"{event.call.name} took more than 10 ms"
        return None

    agent = Agent("support", model=FunctionModel(play), tools=[lookup], telemetry=False)
    delivered: list[MonitorFinding] = []
    hub = watch(agent, [slow_tools], on_finding=delivered.append)

    result = agent.run_sync("where is A1?")
    assert hub.drain()

    assert [(f.run_id, f.agent, *shape(f), f.evidence) for f in result.findings] == [
        (result.run_id, "support", "slow_tools", "warning", "lookup took more than 10 ms", {})
    ]
    assert delivered == result.findings


def test_monitor_return_shapes_and_options() -> None:
    @monitor(name="many", severity="info", kinds=["run_finished"])
    def several(event: Event) -> list[str | Finding]:
        return ["plain", Finding("loud", "error", {"n": 1})]

    @monitor
    def quiet(event: Event) -> None:
        return None

    assert several.kinds == frozenset({"run_finished"})
    assert several.ref == ComponentRef(name="many")
    assert several(finished()) == ["plain", Finding("loud", "error", {"n": 1})]  # still callable
    assert messages_of(several, [StepFinished("r", 1, 0), finished()]) == [
        ("info", "plain"),
        ("error", "loud"),
    ]
    assert messages_of(quiet, [finished()]) == []


def test_monitor_definition_errors_name_the_fix() -> None:
    async def waits(event: Event) -> None:
        return None

    def plain(event: Event) -> None:
        return None

    with pytest.raises(UserError) as async_error:
        monitor(waits)  # type: ignore[arg-type]
    with pytest.raises(MonitorDefinitionError) as name_error:
        monitor(name="no spaces")(lambda event: None)
    with pytest.raises(MonitorDefinitionError) as severity_error:
        monitor(severity="fatal")(plain)  # type: ignore[call-overload]

    assert [str(e.value) for e in (async_error, name_error, severity_error)] == [
        "monitor 'waits' is async; monitors run on a background thread without an event "
        "loop, so write it as a plain `def`",
        "monitor name 'no spaces' is not allowed: start with a letter or '_', then letters, "
        "digits, '_', '.' or '-' (at most 64), e.g. @monitor(name='slow_tools')",
        "monitor 'plain': severity must be one of info, warning, error; got 'fatal'",
    ]


# -- isolation: crashes, slowness, full queues ---------------------------------------------------


def test_a_crashing_monitor_is_recorded_once_per_run_and_others_still_report(
    watch: Callable[..., MonitorHub],
) -> None:
    @monitor
    def crashes(event: Event) -> None:
        raise KeyError("boom")

    @monitor
    def wrong_type(event: Event) -> Any:
        return 42 if event.kind == "run_finished" else None

    @monitor(kinds=["run_finished"])
    def fine(event: Event) -> str:
        return "still here"

    agent = echo_agent()
    hub = watch(agent, [crashes, wrong_type, fine])
    results = [agent.run_sync("one"), agent.run_sync("two")]
    assert hub.drain()

    assert all(r.status == "ok" for r in results)
    for result in results:
        assert [shape(f) for f in result.findings] == [
            (
                "crashes",
                "error",
                "monitor 'crashes' raised KeyError: 'boom' on a run_started event; the run was "
                "not affected and the monitor keeps receiving events",
            ),
            (
                "wrong_type",
                "error",
                "monitor 'wrong_type' raised TypeError: a monitor returned int; return None, a "
                "str, a Finding or a list of them on a run_finished event; the run was not "
                "affected and the monitor keeps receiving events",
            ),
            ("fine", "warning", "still here"),
        ]
    crash = results[0].findings[0].evidence
    assert (crash["exception"], crash["event"]) == ("KeyError", "run_started")
    assert "raise KeyError" in crash["traceback"]
    events_per_run = hub.processed // 2
    assert hub.errors == {"crashes": 2 * events_per_run, "wrong_type": 2}


def test_a_slow_monitor_does_not_slow_the_run(
    watch: Callable[..., MonitorHub], gate: threading.Event
) -> None:
    agent = echo_agent()
    opened: list[bool] = []

    @monitor
    def sluggish(event: Event) -> None:
        # Held until the run returned, then slow: a run that waited for its monitor would not
        # return until the hang guard ran out, and the gate would be found closed.
        opened.append(gate.wait(60))
        time.sleep(0.05)

    hub = watch(agent, [sluggish], slow_after=0.03)
    result = agent.run_sync("watched")
    gate.set()
    assert hub.drain()

    assert opened
    assert all(opened)
    assert [shape(f) for f in result.findings] == [
        (
            "sluggish",
            "warning",
            f"monitor 'sluggish' took {result.findings[0].evidence['seconds']:.1f} s on a "
            "run_started event (slow_after=0.03 s); it delays other monitors' findings, "
            "not the run",
        )
    ]


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    """Opened at teardown whatever happens: a closed gate would stall every later test's hub."""
    opened = threading.Event()
    yield opened
    opened.set()


def test_a_full_queue_drops_with_a_counted_warning(
    watch: Callable[..., MonitorHub], gate: threading.Event, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[str] = []

    opened: list[bool] = []

    @monitor
    def blocked(event: Event) -> None:
        opened.append(gate.wait(60))  # False only if the runs waited for this monitor
        seen.append(event.kind)

    agent = echo_agent("busy")
    sent: list[Event] = []
    agent.on_event(sent.append)
    hub = watch(agent, [blocked], maxsize=3)
    results = [agent.run_sync(f"run {i}") for i in range(5)]
    gate.set()
    assert hub.drain()

    assert all(opened)  # nothing waited for the blocked monitor
    assert hub.dropped > 0
    assert len(seen) + hub.dropped == len(sent)
    assert seen.count("run_finished") == 5  # a run's end may use the reserve: results get findings
    warnings = [f for r in results for f in r.findings if f.monitor == "monitor_hub"]
    assert [(f.severity, f.evidence["dropped_total"]) for f in warnings][-1] == (
        "warning",
        hub.dropped,
    )
    assert sum(f.evidence["dropped"] for f in warnings) == hub.dropped
    assert warnings[0].message.startswith("the monitor queue of agent 'busy' was full: ")
    assert any(r.levelno == logging.WARNING and "dropped" in r.message for r in caplog.records)


def test_drain_times_out_while_a_monitor_is_stuck_and_never_waits_for_itself(
    gate: threading.Event,
) -> None:
    inner: list[bool] = []

    @monitor
    def stuck(event: Event) -> None:
        gate.wait(5)
        inner.append(hub.drain(timeout=5))  # from the monitor thread: must not deadlock

    hub = MonitorHub([stuck], agent="a")
    try:
        hub.enqueue(finished())
        assert hub.drain(timeout=0.05) is False
        gate.set()
        assert hub.drain() is True
        assert inner == [False]
    finally:
        hub.close()


def test_findings_fed_back_as_events_are_not_monitored_again() -> None:
    @monitor
    def chatty(event: Event) -> str:
        return f"saw {event.kind}"

    hub = MonitorHub([chatty], agent="a")
    hub.on_finding = hub.enqueue  # as an agent forwarding findings to all its handlers would
    try:
        hub.enqueue(finished())
        assert hub.drain()
        assert hub.drain()
        assert hub.processed == 1
    finally:
        hub.close()


@settings(max_examples=40, deadline=None)
@given(
    kinds=st.lists(st.sampled_from(["step", "end"]), min_size=1, max_size=40),
    maxsize=st.integers(1, 8),
)
def test_monitors_see_a_run_subsequence_in_order_and_drops_are_counted(
    kinds: list[str], maxsize: int
) -> None:
    seen: list[Event] = []
    watcher = Monitor()
    watcher.observe = seen.append  # type: ignore[method-assign, assignment]
    events: list[Event] = [
        StepFinished("r", i, 0) if kind == "step" else finished(run_id=f"r{i}")
        for i, kind in enumerate(kinds)
    ]
    hub = MonitorHub([watcher], agent="a", maxsize=maxsize)
    try:
        for event in events:
            hub.enqueue(event)
        assert hub.drain()
    finally:
        hub.close()
    remaining = iter(events)
    assert all(any(e is s for e in remaining) for s in seen)  # in order, nothing invented
    assert len(seen) + hub.dropped == len(events)


# -- built-in monitors --------------------------------------------------------------------------


def test_latency_p95_fires_once_then_reminds_and_clears() -> None:
    runs = [finished(duration=d) for d in (0.5, 0.5, 3.0, 3.0, 3.0, 3.0, 0.5, 0.5, 0.5, 0.5)]
    assert messages_of(latency(p95_ms=2000, window=4, min_runs=3, drift=None), runs) == [
        ("warning", "latency p95 2.75 s over the last 3 runs exceeds 2.00 s"),
        ("warning", "latency p95 3.00 s over the last 4 runs exceeds 2.00 s"),
        ("info", "latency p95 back to 500 ms (limit 2.00 s)"),
    ]


def test_latency_drift_against_the_first_runs_of_the_session() -> None:
    runs = [finished(duration=d) for d in (0.1, 0.1, 0.1, 0.1, 0.3, 0.3)]
    assert messages_of(latency(baseline=3, window=3, min_runs=2), runs) == [
        (
            "warning",
            "latency drifted 100% higher than at the start of the session: median 200 ms over "
            "the last 2 runs vs 100 ms over the first 3",
        )
    ]


def test_latency_from_real_runs(watch: Callable[..., MonitorHub]) -> None:
    def slow(request: ModelRequest) -> str:
        time.sleep(0.003)
        return "done"

    agent = echo_agent(reply=slow)
    hub = watch(agent, [latency(p50_ms=1, min_runs=2)])
    results = [agent.run_sync("hi") for _ in range(3)]
    assert hub.drain()
    assert [[f.message.split(" over ")[0][:11] for f in r.findings] for r in results] == [
        [],
        ["latency p50"],
        [],
    ]
    assert results[1].findings[0].evidence.keys() == {"statistic", "value", "limit", "unit", "runs"}


def test_tool_errors_from_real_runs(watch: Callable[..., MonitorHub]) -> None:
    @tool
    def flaky(n: int) -> int:
        """Fails on odd numbers."""
        if n % 2:
            raise RuntimeError("odd")
        return n

    def play(request: ModelRequest) -> Any:
        if len(request.messages) == 1:
            prompt = request.messages[0]
            assert isinstance(prompt, UserMessage)
            return tool_call("flaky", n=len(prompt.content))
        return "done"

    agent = Agent("calc", model=FunctionModel(play), tools=[flaky], telemetry=False)
    hub = watch(agent, [tool_errors(max_rate=0.4, min_calls=3, tools=["flaky"])])
    results = [agent.run_sync(prompt) for prompt in ("ab", "abc", "abcde", "abcdefg")]
    assert hub.drain()

    assert [[shape(f) for f in r.findings] for r in results] == [
        [],
        [],
        [
            (
                "tool_errors",
                "warning",
                "tool_errors 67% over the last 3 calls exceeds 40% (flaky ×2)",
            )
        ],
        [],
    ]
    assert results[2].findings[0].evidence == {
        "rate": 2 / 3,
        "max_rate": 0.4,
        "calls": 3,
        "failed": 2,
        "by_tool": {"flaky": 2},
        "by_error": {"exception": 2},
    }


def test_block_rate_reads_block_verdicts() -> None:
    def run(i: int, outcome: str) -> list[Event]:
        verdict = GuardVerdict(f"r{i}", 1, "pii", "input", outcome, "", "refuse", 0.0)  # type: ignore[arg-type]
        return [verdict, finished(run_id=f"r{i}", status="blocked" if outcome == "block" else "ok")]

    events = [e for i, o in enumerate(["pass", "block", "block", "pass"]) for e in run(i, o)]
    assert messages_of(block_rate(max_rate=0.4, min_runs=3, guards=["pii"]), events) == [
        ("warning", "block_rate 67% over the last 3 runs exceeds 40% (pii ×2)"),
    ]


def test_cost_budget_per_run_and_unknown_prices() -> None:
    runs = [finished(cost_usd=c) for c in (0.001, None, 0.05, None)]
    assert messages_of(cost(max_usd=0.01, drift=None), runs) == [
        (
            "info",
            "cost of function:echo runs is unknown, so it is not monitored; give it a price with "
            "agentnb.models.set_price('function:echo', input_per_million=..., "
            "output_per_million=...)",
        ),
        ("warning", "run cost $0.0500, over the budget of $0.0100"),
    ]


def test_output_length_drift_in_both_directions(watch: Callable[..., MonitorHub]) -> None:
    replies = iter(["x" * 100] * 3 + ["x" * 10] * 3)
    agent = echo_agent(reply=lambda request: next(replies))
    hub = watch(agent, [output_length(baseline=3, window=3, min_runs=2)])
    results = [agent.run_sync("hi") for _ in range(6)]
    assert hub.drain()
    assert [shape(f) for r in results for f in r.findings] == [
        (
            "output_length",
            "warning",
            "output_length drifted 90% lower than at the start of the session: median 10 chars "
            "over the last 2 runs vs 100 chars over the first 3",
        )
    ]


def test_alarm_fires_reminds_every_window_and_clears() -> None:
    alarm = Alarm(every=3)
    states = [alarm.update(b) for b in (False, True, True, True, True, False, False)]
    assert states == [None, "fire", None, None, "fire", "clear", None]


@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=50), st.floats(0, 1))
def test_quantile_lies_between_min_and_max(values: list[float], q: float) -> None:
    assert min(values) <= quantile(values, q) <= max(values)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: latency(p95_ms=0), "monitor 'latency': p95_ms must be a number > 0, got 0"),
        (
            lambda: tool_errors(max_rate=2),
            "monitor 'tool_errors': max_rate must be a number in (0, 1], got 2",
        ),
        (
            lambda: block_rate(min_runs=0),
            "monitor 'block_rate': min_runs must be a whole number ≥ 1, got 0",
        ),
        (
            lambda: tool_errors(tools="lookup"),  # type: ignore[arg-type]
            "monitor 'tool_errors': tools must be a list of names, got 'lookup'",
        ),
    ],
)
def test_builtin_params_are_checked(make: Callable[[], Monitor], message: str) -> None:
    with pytest.raises(MonitorDefinitionError) as error:
        make()
    assert str(error.value) == message


# -- configs: refs, YAML round trip, resolution -------------------------------------------------


def test_monitors_round_trip_through_yaml() -> None:
    @monitor
    def slow_tools(event: Event) -> None:
        return None

    live = [slow_tools, latency(p95_ms=4000), tool_errors(max_rate=0.1, window=50)]
    config = AgentConfig(name="support", monitors=[m.ref for m in live])
    text = config.to_yaml()
    assert "monitors:\n- slow_tools\n- name: latency\n  params:\n    p95_ms: 4000\n" in text
    assert "- name: tool_errors\n  params:\n    max_rate: 0.1\n" in text  # window=50 is a default

    rebuilt = resolve_monitors(AgentConfig.from_yaml(text).monitors)
    assert [(m.name, m.params) for m in rebuilt] == [(m.name, m.params) for m in live]
    assert rebuilt[0] is slow_tools  # a function monitor is its own registry entry
    assert resolve_monitors(config.monitors, live) == live  # given objects keep their state


def test_resolve_reports_every_bad_entry_with_a_fix() -> None:
    @monitor
    def mine(event: Event) -> None:
        return None

    refs = [
        ComponentRef(name="latncy"),
        ComponentRef(name="latency", params={"p99_ms": 5}),
        ComponentRef(name="cost", params={"max_usd": -1}),
        ComponentRef(name="mine", params={"x": 1}),
        ComponentRef(name="output_length"),
        ComponentRef(name="output_length"),
    ]
    with pytest.raises(ValueError, match=r"^5 monitor problems:\n  - monitors\[0\]") as error:
        resolve_monitors(refs)
    assert isinstance(error.value, MonitorDefinitionError)
    known = "block_rate, cost, latency, mine, output_length, tool_errors"
    assert error.value.problems == [
        ConfigProblem(
            "monitors[0]",
            "unknown monitor 'latncy'",
            f"did you mean 'latency'? define it with @monitor first, or pass it in "
            f"monitors=[...] (known: {known})",
        ),
        ConfigProblem(
            "monitors[1].params.p99_ms",
            "monitor 'latency' has no param 'p99_ms'",
            "did you mean 'p95_ms'? its params are p50_ms, p95_ms, drift, window, baseline, "
            "min_runs",
        ),
        ConfigProblem(
            "monitors[2].params",
            "monitor 'cost': max_usd must be a number > 0, got -1",
            "fix the params of monitor 'cost' (got {'max_usd': -1})",
        ),
        ConfigProblem(
            "monitors[3].params",
            "it is the function test_resolve_reports_every_bad_entry_with_a_fix.<locals>.mine "
            "and takes no params",
            "fix the params of monitor 'mine' (got {'x': 1})",
        ),
        ConfigProblem(
            "monitors[5]",
            "duplicate monitor 'output_length'",
            "list each monitor once (one entry can hold several thresholds)",
        ),
    ]
    collected: list[ConfigProblem] = []
    assert [m.name for m in resolve_monitors(refs[4:], problems=collected)] == ["output_length"]
    assert [p.path for p in collected] == ["monitors[1]"]


def test_hub_rejects_what_is_not_a_monitor() -> None:
    with pytest.raises(TypeError, match="MonitorHub takes Monitor objects, got function"):
        MonitorHub([lambda event: None])  # type: ignore[list-item]


def test_agent_name_comes_from_run_started_when_not_given() -> None:
    @monitor(kinds=["run_finished"])
    def note(event: Event) -> str:
        return "seen"

    hub = MonitorHub([note])
    try:
        run = finished(run_id="x")
        hub.enqueue(RunStarted("x", "helper", "0.1.0", "m", "hi", "h"))
        hub.enqueue(ToolCallFinished("x", 1, ToolCall("c", "t", "{}"), "", None, 0.0))
        hub.enqueue(run)
        assert hub.drain()
    finally:
        hub.close()
    assert [(f.agent, f.monitor) for f in run.result.findings] == [("helper", "note")]


# -- through `Agent(monitors=[...])` (runs once the agent wires a hub in) ------------------------

wired = pytest.mark.skipif(
    not hasattr(Agent, "drain_monitors"), reason="Agent(monitors=...) is not wired to a hub yet"
)


@wired
def test_agent_monitors_from_the_issue_example() -> None:
    from agentnb.guards import monitoring as monitors  # public as `agentnb.monitors` once wired

    @tool
    def lookup(order: str) -> str:
        """Look an order up."""
        time.sleep(0.015)
        return "shipped"

    def play(request: ModelRequest) -> Any:
        return tool_call("lookup", order="A1") if len(request.messages) == 1 else "shipped"

    @monitor
    def slow_tools(event: Event) -> str | None:
        if event.kind == "tool_call_finished" and event.duration > 0.01:
            return f"{event.call.name} took {event.duration:.2f} s"
        return None

    watchers: list[Any] = [
        slow_tools,
        monitors.latency(p95_ms=4000),
        monitors.tool_errors(max_rate=0.2),
    ]
    agent: Any = Agent(  # Any until the wiring lands: `drain_monitors`, `monitors` are new
        "support",
        model=FunctionModel(play),
        tools=[lookup],
        telemetry=False,
        monitors=watchers,
    )
    seen: list[tuple[str, bool]] = []
    agent.on_event(lambda e: seen.append((e.kind, threading.current_thread().daemon)))
    result = agent.run_sync("where is A1?")
    assert agent.drain_monitors()

    assert [(f.monitor, f.severity) for f in result.findings] == [("slow_tools", "warning")]
    assert ("finding", True) in seen  # forwarded to handlers, from the monitor thread
    assert agent.config.monitors == [
        ComponentRef(name="slow_tools"),
        ComponentRef(name="latency", params={"p95_ms": 4000}),
        ComponentRef(name="tool_errors"),
    ]
    again: Any = AgentConfig.from_yaml(agent.config.to_yaml()).validate(
        tools=[lookup], model=agent.model
    )
    assert [m.name for m in again.monitors.monitors] == ["slow_tools", "latency", "tool_errors"]


@wired
def test_agent_config_errors_list_bad_monitors() -> None:
    from agentnb import ConfigError

    with pytest.raises(ConfigError) as error:
        Agent("a", model="offline", monitors=["latncy", {"name": "cost", "params": {"x": 1}}])
    assert [p.path for p in error.value.problems] == ["monitors[0]", "monitors[1].params.x"]
