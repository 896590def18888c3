"""Arguments models and JSON Schemas built from signatures, docstrings and annotations."""

from __future__ import annotations

import enum
from typing import Annotated, Any, Literal, Optional

import pytest
from pydantic import BaseModel, Field

from agentnb import RunContext, tool
from agentnb.errors import ToolDefinitionError
from agentnb.models.base import ToolDefinition
from agentnb.tools import REGISTRY, Tool


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Address(BaseModel):
    street: str
    city: str = "Paris"


class Page(BaseModel):
    title: str


def test_scalar_defaults_and_required() -> None:
    @tool
    def add(a: int, b: float = 1.5, label: str = "sum", exact: bool = False) -> float:
        """Add two numbers."""
        return a + b

    assert add.definition == ToolDefinition(
        name="add",
        description="Add two numbers.",
        parameters={
            "additionalProperties": False,
            "properties": {
                "a": {"type": "integer"},
                "b": {"default": 1.5, "type": "number"},
                "label": {"default": "sum", "type": "string"},
                "exact": {"default": False, "type": "boolean"},
            },
            "required": ["a"],
            "type": "object",
        },
    )


def test_literal_enum_nested_optional_list_and_annotated() -> None:
    @tool
    def ship(
        to: Address,
        currency: Literal["EUR", "USD", "GBP"] = "EUR",
        color: Color = Color.RED,
        billing: Optional[Address] = None,  # noqa: UP045 (this spelling is under test)
        tags: list[str] = [],  # noqa: B006 (the default is read, never mutated)
        note: Annotated[str, Field(description="Shown on the label.")] = "",
        quantity: int | None = None,
    ) -> str:
        """Ship a parcel."""
        return ""

    assert ship.definition.parameters == {
        "$defs": {
            "Address": {
                "properties": {
                    "street": {"type": "string"},
                    "city": {"default": "Paris", "type": "string"},
                },
                "required": ["street"],
                "type": "object",
            },
            "Color": {"enum": ["red", "blue"], "type": "string"},
        },
        "additionalProperties": False,
        "properties": {
            "to": {"$ref": "#/$defs/Address"},
            "currency": {"default": "EUR", "enum": ["EUR", "USD", "GBP"], "type": "string"},
            "color": {"$ref": "#/$defs/Color", "default": "red"},
            "billing": {"anyOf": [{"$ref": "#/$defs/Address"}, {"type": "null"}], "default": None},
            "tags": {"default": [], "items": {"type": "string"}, "type": "array"},
            "note": {"default": "", "description": "Shown on the label.", "type": "string"},
            "quantity": {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": None},
        },
        "required": ["to"],
        "type": "object",
    }


def test_titles_are_dropped_from_schemas_but_not_from_data() -> None:
    @tool
    def publish(page: Page = Page(title="Home"), title: str = "x") -> str:  # noqa: B008
        """Publish a page."""
        return page.title

    assert publish.definition.parameters == {
        "$defs": {
            "Page": {
                "properties": {"title": {"type": "string"}},
                "required": ["title"],
                "type": "object",
            }
        },
        "additionalProperties": False,
        "properties": {
            "page": {"$ref": "#/$defs/Page", "default": {"title": "Home"}},
            "title": {"default": "x", "type": "string"},
        },
        "type": "object",
    }


def test_google_docstring_describes_parameters() -> None:
    @tool
    def convert(amount: float, currency: str = "EUR") -> float:
        """Convert an amount of money.

        Uses today's rates.

        Args:
            amount: How much money, in the source currency.
            currency (str): The target currency,
                as an ISO 4217 code.

        Returns:
            The converted amount.
        """
        return amount

    assert convert.definition == ToolDefinition(
        "convert",
        "Convert an amount of money.\n\nUses today's rates.",
        {
            "additionalProperties": False,
            "properties": {
                "amount": {
                    "description": "How much money, in the source currency.",
                    "type": "number",
                },
                "currency": {
                    "default": "EUR",
                    "description": "The target currency, as an ISO 4217 code.",
                    "type": "string",
                },
            },
            "required": ["amount"],
            "type": "object",
        },
    )


def test_numpy_docstring_describes_parameters() -> None:
    @tool
    def convert(amount: float, currency: str = "EUR") -> float:
        """Convert an amount of money.

        Parameters
        ----------
        amount : float
            How much money,
            in the source currency.
        currency : str, optional
            The target currency.

        Returns
        -------
        float
            The converted amount.
        """
        return amount

    assert convert.definition == ToolDefinition(
        "convert",
        "Convert an amount of money.",
        {
            "additionalProperties": False,
            "properties": {
                "amount": {
                    "description": "How much money, in the source currency.",
                    "type": "number",
                },
                "currency": {
                    "default": "EUR",
                    "description": "The target currency.",
                    "type": "string",
                },
            },
            "required": ["amount"],
            "type": "object",
        },
    )


def test_annotated_description_wins_over_the_docstring() -> None:
    @tool
    def find(q: Annotated[str, Field(description="From the annotation.")]) -> str:
        """Find things.

        Args:
            q: From the docstring.
        """
        return q

    assert find.definition.parameters["properties"] == {
        "q": {"description": "From the annotation.", "type": "string"}
    }


def test_run_context_parameter_is_not_part_of_the_schema() -> None:
    @tool
    def whoami(ctx: RunContext[str], shout: bool = False) -> str:
        """Say who runs."""
        return ctx.deps

    assert whoami.takes_context
    assert whoami.definition.parameters == {
        "additionalProperties": False,
        "properties": {"shout": {"default": False, "type": "boolean"}},
        "type": "object",
    }


def test_openai_and_anthropic_shapes() -> None:
    @tool
    def lookup_order(order_id: str) -> dict[str, str]:
        """Look up an order.

        Args:
            order_id: The order number.
        """
        return {"id": order_id}

    parameters = {
        "additionalProperties": False,
        "properties": {"order_id": {"description": "The order number.", "type": "string"}},
        "required": ["order_id"],
        "type": "object",
    }
    assert lookup_order.definition.openai_schema() == {
        "type": "function",
        "function": {
            "name": "lookup_order",
            "description": "Look up an order.",
            "parameters": parameters,
        },
    }
    assert lookup_order.definition.anthropic_schema() == {
        "name": "lookup_order",
        "description": "Look up an order.",
        "input_schema": parameters,
    }


def test_name_and_description_overrides() -> None:
    @tool(name="fx-convert", description="Convert currencies.")
    def convert_impl(amount: float) -> float:
        """Not this."""
        return amount

    convert = convert_impl
    assert (convert.name, convert.description) == ("fx-convert", "Convert currencies.")
    assert convert.definition.openai_schema()["function"]["name"] == "fx-convert"
    assert REGISTRY["fx-convert"] is convert
    assert "convert_impl" not in REGISTRY
    assert convert(2.0) == 2.0  # still a plain function in the notebook

    renamed = convert.with_overrides(name="convert2", description="Other words.")
    assert (renamed.name, renamed.description, renamed.definition.parameters) == (
        "convert2",
        "Other words.",
        convert.definition.parameters,
    )
    assert convert.with_overrides(description="").description == ""
    assert REGISTRY["fx-convert"] is convert  # overrides are copies, not registrations


def test_hash_is_content_identity() -> None:
    def make(doc: str) -> Tool[..., int]:
        def count(n: int) -> int:
            return n

        count.__doc__ = doc
        return tool(count)

    first, same, other = make("Count."), make("Count."), make("Count things.")
    assert first.hash == same.hash
    assert first.hash != other.hash
    assert len(first.hash) == 16
    assert repr(first) == "Tool('count', params=['n'])"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            "def f(a): pass",
            "tool 'f': parameter 'a' has no type annotation; add one (e.g. `a: str`) so the "
            "model knows what to send",
        ),
        (
            "def f(*args: int): pass",
            "tool 'f': *args / **args cannot be described to a model; list the arguments "
            "explicitly",
        ),
        (
            "def f(**options: int): pass",
            "tool 'f': *options / **options cannot be described to a model; list the arguments "
            "explicitly",
        ),
        (
            "def f(x: 'Missing'): pass",
            "tool 'f': cannot resolve a type annotation (name 'Missing' is not defined); define "
            "or import the type before the @tool function",
        ),
    ],
)
def test_bad_signatures(source: str, message: str) -> None:
    namespace: dict[str, object] = {}
    exec(source, namespace)
    with pytest.raises(ToolDefinitionError) as info:
        tool(namespace["f"])  # type: ignore[call-overload]
    assert str(info.value) == message
    assert "f" not in REGISTRY


@pytest.mark.parametrize("name", ["bad name", "x" * 65, "café", "call()", "<lambda>"])
def test_bad_names(name: str) -> None:
    def f(a: int) -> int:
        return a

    with pytest.raises(ToolDefinitionError) as info:
        tool(name=name)(f) if name != "<lambda>" else tool(lambda: 1)
    assert str(info.value) == (
        f"tool name {name!r} is not allowed: use letters, digits, '_' or '-' (at most 64), "
        "e.g. @tool(name='lookup_order')"
    )


def test_longest_allowed_name() -> None:
    def f(a: int) -> int:
        return a

    assert tool(name="x" * 64)(f).name == "x" * 64


def test_bad_timeout_and_non_callable() -> None:
    def f(a: int) -> int:
        return a

    with pytest.raises(ToolDefinitionError, match=r"^tool 'f': timeout must be > 0, got 0$"):
        tool(timeout=0)(f)
    with pytest.raises(ToolDefinitionError, match=r"^@tool needs a function, got int$"):
        Tool(3)  # type: ignore[arg-type]


class Opaque:
    """Not a type pydantic can validate or describe."""


def test_unsupported_argument_type() -> None:
    def f(thing: Opaque) -> None:
        pass

    with pytest.raises(ToolDefinitionError) as info:
        tool(f)
    assert str(info.value) == (
        "tool 'f': parameter 'thing' has type Opaque, which a model cannot send: it sends JSON "
        "(strings, numbers, booleans, lists, objects). Take what it can send and build the value "
        "inside the function: a name or id to look the object up (e.g. `thing: str`), or for a "
        "table its rows as records (`thing: list[dict[str, Any]]`, then `pd.DataFrame(thing)`)."
    )


def test_a_dataframe_parameter_says_what_to_take_instead() -> None:
    pd = pytest.importorskip("pandas")

    def summarise(table, column):  # type: ignore[no-untyped-def]
        return float(table[column].mean())

    # Set here, not as `table: pd.DataFrame`: this module's annotations are strings, and pandas
    # is imported in this test only.
    summarise.__annotations__ = {"table": pd.DataFrame, "column": str, "return": float}

    with pytest.raises(ToolDefinitionError) as info:
        tool(summarise)
    message = str(info.value)
    assert message.startswith("tool 'summarise': parameter 'table' has type DataFrame, which a ")
    assert "`table: list[dict[str, Any]]`, then `pd.DataFrame(table)`" in message
    assert "arbitrary_types_allowed" not in message  # pydantic's advice a tool user can't act on

    @tool
    def summarise_rows(rows: list[dict[str, Any]], column: str) -> float:
        """The mean of a column of a table given as records."""
        return float(pd.DataFrame(rows)[column].mean())

    args = summarise_rows.validate_args('{"rows": [{"x": 1}, {"x": 3}], "column": "x"}')
    assert summarise_rows.function(**args.model_dump()) == 2.0
