"""The parameter schema a deployment publishes, so the console can build a trigger form."""

from __future__ import annotations

from typing import Any

from prefect import Flow


def flow_parameter_schema(flow: Flow[..., Any]) -> dict[str, Any]:
    """The OpenAPI schema Prefect computes from the flow's signature.

    `properties` (one per parameter: `type`, or `anyOf` for optionals, `enum`, or a `$ref`
    into `definitions` for Enum classes; `default`; `position`), `required`, `definitions`:
    the same document Prefect stores as the deployment's `parameter_openapi_schema`.
    """
    return flow.parameters.model_dump_for_openapi()
