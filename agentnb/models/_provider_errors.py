"""SDK exceptions → agentnb errors, shared by the OpenAI and Anthropic models.

Both SDKs come from the same generator and raise the same family (`APIStatusError` with a
`status_code`, `APITimeoutError`, `APIConnectionError`, `APIResponseValidationError`, `APIError`),
so one mapping serves both: it is handed the SDK module and looks the classes up there, which keeps
either SDK from being imported here. Example, inside a provider:

    with provider_errors(openai, endpoint):
        completion = await client.chat.completions.create(...)
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timezone
from types import ModuleType
from typing import Any

from agentnb.errors import (
    MalformedResponse,
    ModelAuthError,
    ModelConnectionError,
    ModelError,
    ModelNotFoundError,
    ModelTimeout,
    ProviderServerError,
    RateLimited,
)

__all__ = ["Endpoint", "missing_credentials", "provider_errors", "retry_after"]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where requests go: what an error message needs to name the thing and the fix."""

    provider: str
    """`openai` or `anthropic`; both SDKs read `<PROVIDER>_API_KEY` and `<PROVIDER>_BASE_URL`."""
    model: str
    api: str
    """The wire protocol spoken, e.g. "OpenAI Chat Completions"."""
    base_url: str
    timeout: float | None

    def error(
        self, kind: type[ModelError], message: str, *, status: int | None = None
    ) -> ModelError:
        return kind(message, provider=self.provider, model=self.model, status=status)

    def malformed(self, what: str) -> ModelError:
        return self.error(
            MalformedResponse,
            f"{what}. Check that {self.base_url} serves the {self.api} API; "
            "if it does, retry (a proxy may have cut the answer).",
        )


def missing_credentials(provider: str, model: str) -> ModelError:
    """No key at all, reported before a request (the SDKs would name none of our options)."""
    return ModelAuthError(
        f"no API key. Set {provider.upper()}_API_KEY or pass `api_key=` to the model (any "
        "non-empty string for a local server that ignores keys).",
        provider=provider,
        model=model,
    )


@contextmanager
def provider_errors(
    sdk: ModuleType, endpoint: Endpoint, *, answering: bool = False
) -> Iterator[None]:
    """Raise the agentnb error for whatever `sdk` (or its HTTP layer) raises inside the block.

    `answering=True` once the response has started to arrive: a dropped connection then means a
    cut answer, and a missing field a malformed answer, rather than an unreachable server or a bug.
    """
    import httpx2  # both SDKs ride on it, so it is loaded by the time a request is made

    shape_errors: tuple[type[Exception], ...] = (
        (AttributeError, IndexError, KeyError, TypeError) if answering else ()
    )
    try:
        yield
    except sdk.APIResponseValidationError as exc:
        raise endpoint.malformed(f"the answer does not have the expected shape ({exc})") from exc
    except (sdk.APITimeoutError, httpx2.TimeoutException) as exc:
        within = f"within {endpoint.timeout:g}s" if endpoint.timeout is not None else "in time"
        raise endpoint.error(
            ModelTimeout,
            f"no answer from {endpoint.base_url} {within}. Raise the model's `timeout=` (or "
            "`settings.timeout`), or check whether the server is overloaded.",
        ) from exc
    except (sdk.APIConnectionError, httpx2.TransportError) as exc:
        cause = exc.__cause__ or exc
        if answering:
            raise endpoint.malformed(
                f"the stream ended before the response finished (connection lost: {cause})"
            ) from exc
        env = f"{endpoint.provider.upper()}_BASE_URL"
        raise endpoint.error(
            ModelConnectionError,
            f"the connection to {endpoint.base_url} failed ({cause}). Check that the server is "
            f"running and the URL is right (`base_url=` on the model, or {env}).",
        ) from exc
    except sdk.APIStatusError as exc:
        if exc.status_code >= 400:
            raise _from_status(exc.status_code, exc.response.headers, exc.body, endpoint) from exc
        raise _mid_stream(exc.body, endpoint) from exc
    except sdk.APIError as exc:
        raise _mid_stream(exc.body, endpoint) from exc
    except json.JSONDecodeError as exc:
        raise endpoint.malformed(f"the answer is not valid JSON ({exc})") from exc
    except shape_errors as exc:
        raise endpoint.malformed(f"the answer does not have the expected shape ({exc!r})") from exc


def _from_status(
    status: int, headers: Mapping[str, str], body: object, endpoint: Endpoint
) -> ModelError:
    said = _detail(body)
    said = f" The provider said: {said}" if said else ""
    if status in (401, 403):
        problem = "the API key was rejected" if status == 401 else "the API key may not do this"
        env = f"{endpoint.provider.upper()}_API_KEY"
        return endpoint.error(
            ModelAuthError,
            f"{problem}. Set {env} (or pass `api_key=`) to a valid key with access to model "
            f"{endpoint.model!r}.{said}",
            status=status,
        )
    if status == 404:
        return endpoint.error(
            ModelNotFoundError,
            f"{endpoint.base_url} does not know model {endpoint.model!r}. Check the model name "
            f"(and the base URL, if you set one).{said}",
            status=status,
        )
    if status == 429:
        wait = retry_after(headers)
        when = f" after {round(wait, 1):g}s" if wait is not None else " later"
        return RateLimited(
            f"rate limited. Retry{when}, or lower the request rate.{said}",
            retry_after=wait,
            provider=endpoint.provider,
            model=endpoint.model,
            status=status,
        )
    if status >= 500:
        return endpoint.error(
            ProviderServerError,
            f"the provider failed on its side. Retry later.{said}",
            status=status,
        )
    return endpoint.error(
        ModelError,
        f"the request was refused. Check the settings sent (model, max_tokens, tools, output "
        f"schema) against what the {endpoint.api} API accepts.{said}",
        status=status,
    )


def _mid_stream(body: object, endpoint: Endpoint) -> ModelError:
    said = _detail(body) or "no detail"
    return endpoint.error(
        ProviderServerError,
        f"the provider reported an error in the middle of its answer ({said}). Retry the request.",
    )


def _detail(body: object) -> str:
    """The provider's own error message from an error body (OpenAI or Anthropic shape)."""
    if isinstance(body, Mapping):
        error: Any = body.get("error", body)
        if isinstance(error, Mapping):
            return str(error.get("message") or "")
    return body if isinstance(body, str) else ""


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait, from `retry-after-ms` or `Retry-After` (seconds or an HTTP date)."""
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        try:
            return max(0.0, float(headers[name]) / scale)
        except (KeyError, ValueError):
            pass
    try:
        when = email.utils.parsedate_to_datetime(headers["retry-after"])
    except (KeyError, TypeError, ValueError):
        return None
    if when.tzinfo is None:  # HTTP dates are GMT
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, when.timestamp() - time.time())
