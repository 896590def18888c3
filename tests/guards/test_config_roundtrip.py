"""Guards in `AgentConfig`: YAML round trips keep names and behaviour; mistakes are problems."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from agentnb import Agent, AgentConfig, ConfigError, FunctionModel, Tool, tool, tool_call
from agentnb.agents import RunResult
from agentnb.errors import ConfigProblem
from agentnb.guards import (
    ToolCallView,
    Verdict,
    allow_tools,
    approval,
    blocklist,
    budget,
    deny_tools,
    guard,
    injection,
    judge,
    output_schema,
    pii,
    tool_args,
)
from agentnb.guards.guard import GUARD_REGISTRY
from agentnb.models import ModelRequest

Script = Callable[..., FunctionModel]


@tool
def refund(order_id: str, amount: float) -> str:
    """Refund an order."""
    return f"refunded {amount} on {order_id}"


@tool
def lookup(order_id: str) -> str:
    """Look an order up."""
    return f"order {order_id} belongs to ana@example.com"


@tool
def wipe(order_id: str) -> str:
    """Delete an order."""
    return "wiped"


TOOLS: list[Tool[..., Any]] = [refund, lookup, wipe]


@guard("tool_call", on_fail="raise")
def no_negative_refunds(call: ToolCallView) -> Verdict | None:
    if call.name == "refund" and call.args["amount"] < 0:
        return Verdict.block("negative amount")
    return None


@guard("final_output", name="signed_off")
def sign(answer: str) -> str:
    return f"{answer} (shop bot)"


def _guards() -> list[Any]:
    return [
        no_negative_refunds,
        sign,
        allow_tools(["refund", "lookup", "wipe"]),
        deny_tools(["wipe"]),
        tool_args("refund", amount={"min": 1, "max": 100}),
        pii(kinds=["email", "card"]),
        pii("block", name="no_iban_out", kinds=["iban"], points=["final_output"], on_fail="refuse"),
        injection(on_fail="refuse"),
        budget(max_steps=6, max_cost_usd=1.0),
        blocklist(["confidential"], patterns=[r"\bX-\d+\b"], on_fail="warn"),
        judge("Polite and on topic.", model="offline"),
        approval(["refund"], policy="allow"),
        output_schema({"type": "string"}, name="any_json", on_fail="warn"),
    ]


def _replies() -> list[Any]:
    return [
        tool_call("refund", call_id="c1", order_id="A-1", amount=500),
        tool_call("wipe", call_id="c2", order_id="A-1"),
        tool_call("lookup", call_id="c3", order_id="A-1"),
        tool_call("refund", call_id="c4", order_id="A-1", amount=50),
        "Refunded 50 on A-1; ref X-12 is confidential.",
    ]


def _summary(agent: Agent) -> list[tuple[str, str, tuple[str, ...], str | None]]:
    return [(g.name, type(g).__name__, g.points, g.on_fail) for g in agent.guards.guards]


def _verdicts(result: RunResult) -> list[tuple[int, str, str, str, str, str]]:
    return [(v.step, v.guard, v.point, v.outcome, v.reason, v.action) for v in result.verdicts]


@pytest.fixture
def only_builtin_guards() -> Iterator[None]:
    """No `@guard` functions registered (they are listed in the 'unknown guard' fix)."""
    saved = dict(GUARD_REGISTRY)
    GUARD_REGISTRY.clear()
    yield
    GUARD_REGISTRY.update(saved)


async def test_yaml_round_trip_keeps_config_names_and_behaviour(script: Script) -> None:
    original = Agent("shop", model=script(*_replies()), tools=TOOLS, guards=_guards())

    text = original.config.to_yaml()
    loaded = AgentConfig.from_yaml(text)
    assert loaded == original.config
    reloaded = loaded.validate(model=script(*_replies()), tools=TOOLS)
    assert reloaded.config == original.config
    assert reloaded.config_hash == original.config_hash
    assert (
        _summary(reloaded)
        == _summary(original)
        == [
            ("no_negative_refunds", "FunctionGuard", ("tool_call",), "raise"),
            ("signed_off", "FunctionGuard", ("final_output",), None),
            ("allow_tools", "_AllowTools", ("tool_call",), None),
            ("deny_tools", "_DenyTools", ("tool_call",), None),
            ("tool_args", "_ToolArgs", ("tool_call",), None),
            ("pii", "_Pii", ("input", "tool_result", "final_output"), None),
            ("no_iban_out", "_Pii", ("final_output",), "refuse"),
            ("injection", "_Injection", ("tool_result",), "refuse"),
            ("budget", "_Budget", ("model_output", "tool_call"), "refuse"),
            ("blocklist", "_Blocklist", ("input", "final_output"), "warn"),
            ("judge", "_Judge", ("final_output",), None),
            ("approval", "_Approval", ("tool_call",), None),
            ("any_json", "_OutputSchema", ("final_output",), "warn"),
        ]
    )

    first = await original.run("Refund A-1")
    second = await reloaded.run("Refund A-1")
    assert (second.status, second.output) == (first.status, first.output)
    assert _verdicts(second) == _verdicts(first)
    # The run exercised the guards, not just their names.
    outcomes = {(v.guard, v.outcome) for v in first.verdicts}
    assert {
        ("tool_args", "block"),
        ("deny_tools", "block"),
        ("pii", "rewrite"),
        ("approval", "warn"),
        ("blocklist", "block"),
        ("signed_off", "rewrite"),
        ("any_json", "block"),
    } <= outcomes
    assert first.output == "Refunded 50 on A-1; ref X-12 is confidential. (shop bot)"


def test_guards_are_written_compactly() -> None:
    agent = Agent(
        "shop",
        model="offline",
        tools=TOOLS,
        guards=[sign, injection(), pii("block", kinds=["card"]), budget(max_steps=3)],
    )
    data = agent.config.to_dict()
    assert data["guards"] == [
        "signed_off",
        "injection",
        {"name": "pii", "params": {"action": "block", "kinds": ["card"]}},
        {"name": "budget", "params": {"max_steps": 3}},
    ]
    assert AgentConfig.from_json(agent.config.to_json()) == agent.config


def test_a_pydantic_output_schema_reloads_as_its_json_schema() -> None:
    from pydantic import BaseModel

    class Answer(BaseModel):
        text: str

    agent = Agent("a", model="offline", guards=[output_schema(Answer)])
    reloaded = AgentConfig.from_yaml(agent.config.to_yaml()).validate()
    before, after = agent.guards.guards[0], reloaded.guards.guards[0]
    for answer in ['{"text": "hi"}', '{"text": 3}', "{}", "not json"]:
        first, second = before.check(answer, None), after.check(answer, None)  # type: ignore[arg-type]
        assert (first is None) == (second is None), answer


def test_function_guard_overrides_from_the_config() -> None:
    config = AgentConfig.model_validate(
        {
            "name": "shop",
            "model": "offline",
            "tools": ["refund"],
            "guards": [
                {
                    "name": "no_negative_refunds",
                    "params": {"on_fail": "warn", "points": ["tool_call"]},
                }
            ],
        }
    )
    agent = config.validate(tools=TOOLS)
    assert _summary(agent) == [("no_negative_refunds", "FunctionGuard", ("tool_call",), "warn")]


def test_unknown_guards_and_bad_params_are_config_problems(only_builtin_guards: None) -> None:
    config = AgentConfig.model_validate(
        {
            "name": "shop",
            "model": "offline",
            "tools": ["refund"],
            "guards": [
                "pii",
                "no_such_guard",
                {"name": "budget"},
                {"name": "allow_tools", "params": {"tool": ["refund"]}},
                {"name": "pii", "params": {"name": "pii_2", "action": "shout"}},
                {"name": "blocklist", "params": {"patterns": ["(unclosed"]}},
                {"name": "deny_tools", "params": {"denied": ["refund"], "points": ["output"]}},
                {"name": "injection", "params": {"on_fail": "explode"}},
                {
                    "name": "tool_args",
                    "params": {"tools": ["refund"], "rules": {"amount": {"mx": 1}}},
                },
                "pii",
            ],
        }
    )
    with pytest.raises(ConfigError) as info:
        config.validate(tools=TOOLS)

    builtins = (
        "allow_tools, approval, blocklist, budget, deny_tools, injection, judge, output_schema, "
        "pii, tool_args"
    )
    fix = "check its params against the guard's docs"
    assert info.value.problems == [
        ConfigProblem(
            "guards[1]",
            "unknown guard 'no_such_guard'",
            f"define it with @guard(...) first, or use a built-in: {builtins}",
        ),
        ConfigProblem(
            "guards[2]",
            "guard 'budget': budget needs at least one of max_steps, "
            "max_tokens, max_cost_usd, max_seconds",
            fix,
        ),
        ConfigProblem(
            "guards[3]",
            "guard 'allow_tools': missing 1 required positional argument: 'tools'",
            fix,
        ),
        ConfigProblem(
            "guards[4]",
            "guard 'pii': pii action must be 'redact', 'block' or 'warn', got 'shout'",
            fix,
        ),
        ConfigProblem(
            "guards[5]",
            "guard 'blocklist': blocklist pattern '(unclosed' is not a "
            "valid regex: missing ), unterminated subpattern at position 0",
            fix,
        ),
        ConfigProblem(
            "guards[6]",
            "guard 'deny_tools': unknown guard "
            "point(s) ['output']; use one of input, model_output, tool_call, "
            "tool_result, final_output",
            fix,
        ),
        ConfigProblem(
            "guards[7]",
            "guard 'injection': on_fail='explode' is "
            "not one of raise, reask, redact, refuse, rewrite, skip, warn",
            fix,
        ),
        ConfigProblem(
            "guards[8]",
            "guard 'tool_args': tool_args rule for 'amount' has unknown "
            "keys ['mx']; use ['max', 'min', 'one_of', 'pattern']",
            fix,
        ),
        ConfigProblem(
            "guards[9]", "duplicate guard name 'pii'", "give one of them another name=..."
        ),
    ]
    assert str(info.value).startswith("Agent config 'shop' has 9 problems:\n  - guards[1]: ")


def test_guard_params_naming_missing_tools_are_problems() -> None:
    with pytest.raises(ConfigError) as info:
        Agent(
            "shop",
            model="offline",
            tools=[refund],
            guards=[
                allow_tools(["refund", "teleport"]),
                approval(["launch"]),
                tool_args("missiles", count={"max": 0}),
                deny_tools(["refund"]),
            ],
        )
    assert info.value.problems == [
        ConfigProblem(
            f"guards[{i}].params.tools",
            f"guard {kind!r} references tool {name!r}, which the agent does not have",
            f"add {name!r} to tools, or remove it from the guard",
        )
        for i, kind, name in [
            (0, "allow_tools", "teleport"),
            (1, "approval", "launch"),
            (2, "tool_args", "missiles"),
        ]
    ]


def test_a_judge_model_given_as_an_object_is_written_by_id() -> None:
    def play(request: ModelRequest) -> str:
        return '{"verdict": "pass", "reason": "ok"}'

    agent = Agent("a", model="offline", guards=[judge("Polite.", model=FunctionModel(play))])
    assert agent.config.to_dict()["guards"] == [
        {"name": "judge", "params": {"criteria": "Polite.", "model": "function:play"}}
    ]


@pytest.mark.parametrize(
    "bad",
    [
        {"name": "budget", "params": {"max_steps": "three"}},
        {"name": "tool_args", "params": {"tools": ["refund"], "rules": {"amount": {"max": "9"}}}},
    ],
)
def test_guard_params_of_the_wrong_type_are_config_problems(bad: dict[str, Any]) -> None:
    config = AgentConfig.model_validate(
        {"name": "shop", "model": "offline", "tools": ["refund"], "guards": [bad]}
    )
    with pytest.raises(ConfigError) as info:
        config.validate(tools=TOOLS)
    assert [p.path for p in info.value.problems] == ["guards[0]"]
