"""The layers as an agent gets them: wrapped at validation, events in the run's stream."""

from __future__ import annotations

from agentnb import Agent, FunctionModel
from agentnb.events import Event, LayerEvent
from agentnb.layers import breakers_of
from agentnb.models.offline import OfflineModel
from agentnb.models.openai import OpenAIModel
from tests.wire_server import Reply, WireServer


def test_a_local_agent_runs_its_model_bare() -> None:
    model = FunctionModel(lambda request: "hi")

    assert Agent("bare", model=model).model is model
    assert isinstance(Agent("offline", model="offline").model, OfflineModel)


async def test_a_retry_is_an_event_of_the_run(wire: WireServer, openai_model: OpenAIModel) -> None:
    wire.script(Reply(status=429, headers={"retry-after-ms": "10"}), Reply(text="answered"))
    agent = Agent("resilient", model=openai_model, settings={"resilience": {"breaker_reset": 5}})
    events: list[Event] = []
    agent.on_event(events.append)

    result = await agent.run("hi")

    assert result.output == "answered"
    layer_events = [e for e in events if isinstance(e, LayerEvent)]
    assert [(e.run_id, e.step, e.layer, e.attempt) for e in layer_events] == [
        (result.run_id, 1, "retry", 1)
    ]
    assert list(breakers_of(agent.model)) == ["openai:gpt-test"]
    assert agent.model.id == "openai:gpt-test"
