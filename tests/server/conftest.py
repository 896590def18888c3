"""Recorded runs for the server tests: an ok run, a run a guard blocked, a failed run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pytest

from agentnb import Agent, FunctionModel, RunResult, Verdict, guard, telemetry, tool
from agentnb.telemetry import lance, settings


@tool
def convert(amount: float, currency: Literal["EUR", "USD", "GBP"] = "EUR") -> dict[str, object]:
    """Convert an amount of US dollars into another currency.

    Args:
        amount: How many US dollars to convert.
        currency: The currency to convert into.
    """
    rate = {"USD": 1.0, "EUR": 0.86, "GBP": 0.76}[currency]
    return {"amount_usd": amount, "currency": currency, "converted": round(amount * rate, 2)}


@guard("tool_call")
def at_most_1000(call: object) -> Verdict | None:
    amount = call.args["amount"]  # type: ignore[attr-defined]
    return Verdict.block(f"{amount:g} dollars is over the 1,000 limit") if amount > 1000 else None


def _broken_model(request: object) -> str:
    raise RuntimeError("the model is down")


@dataclass
class Recorded:
    """The runs written to `home`, as the run loop returned them."""

    home: Path
    ok: RunResult
    blocked: RunResult
    failed: RunResult


def recording(name: str, **kwargs: object) -> Agent:
    # Subscribed by hand, so the run is recorded once whether or not Agent wires the recorder.
    agent = Agent(name, telemetry=False, **kwargs)  # type: ignore[arg-type]
    agent.on_event(telemetry.event_handler())
    return agent


def record_runs(home: Path) -> Recorded:
    """Run three agents with telemetry going to `home` (AGENTNB_HOME) and commit them."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AGENTNB_HOME", str(home))
        patch.delenv("AGENTNB_TELEMETRY_URI", raising=False)
        settings.reset()
        lance.forget_connections()
        try:
            fx = recording("fx", model="offline", tools=[convert])
            ok = fx.run_sync("How much is 12.5 dollars in GBP?")
            guarded = recording(
                "fx", version="0.2.0", model="offline", tools=[convert], guards=[at_most_1000]
            )
            blocked = guarded.run_sync("How much is 5000 dollars in EUR?")
            broken = recording("support", model=FunctionModel(_broken_model, name="broken"))
            with pytest.raises(RuntimeError, match="the model is down"):
                broken.run_sync("Where is order 1042?")
            failed = broken.last_result
            assert failed is not None
            telemetry.flush()
        finally:
            settings.reset()
            lance.forget_connections()
    return Recorded(home, ok, blocked, failed)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    return record_runs(tmp_path_factory.mktemp("server") / "agentnb-home")
