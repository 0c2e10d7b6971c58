"""The parameter schema a deployment publishes, so the console can build a trigger form."""

from __future__ import annotations

from typing import Any

from prefect import Flow
from prefect.deployments.runner import RunnerDeployment

from engine.contract.secrets import SECRET_SCHEMA_MARKS


def flow_parameter_schema(flow: Flow[..., Any]) -> dict[str, Any]:
    """The OpenAPI schema Prefect computes from the flow's signature.

    `properties` (one per parameter: `type`, or `anyOf` for optionals, `enum`, or a `$ref`
    into `definitions` for Enum classes; `default`; `position`), `required`, `definitions`:
    the same document Prefect stores as the deployment's `parameter_openapi_schema`.
    """
    return flow.parameters.model_dump_for_openapi()


def mark_secret_properties(deployment: RunnerDeployment, secret: frozenset[str]) -> None:
    """Marks the secret parameters in the schema Prefect will store for `deployment`.

    Prefect keeps the real values (the flow needs them); the marks tell its UI to mask
    them, and tell the flow, which reads this schema, what to mask in its lineage. Prefect
    itself edits this private schema the same way for frozen parameters."""
    properties = deployment._parameter_openapi_schema.properties
    for name in secret & set(properties):
        properties[name].update(SECRET_SCHEMA_MARKS)


def override_errors(schema: dict[str, Any], overrides: dict[str, Any]) -> list[str]:
    """What is wrong with `overrides` against `schema`, one sentence per parameter.

    Only the overridden parameters are checked (the deployment supplies the rest), and
    unknown names are left to the caller, which lists the accepted ones.
    """
    import jsonschema

    properties = schema.get("properties") or {}
    problems = []
    for name, value in overrides.items():
        prop = properties.get(name)
        if prop is None:
            continue
        validator = jsonschema.Draft202012Validator(
            {**prop, "definitions": schema.get("definitions") or {}}
        )
        for error in validator.iter_errors(value):
            problems.append(f"parameter {name}: {error.message}")
    return problems
