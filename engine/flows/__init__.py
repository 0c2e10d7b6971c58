"""Flow registry: the flows deployment files may name in `flow_name`.

`engine.config` validates `flow_name` and `parameters` against this mapping, and the
engine serves deployments from it, so a flow that is not listed here cannot be deployed.
"""

from __future__ import annotations

from typing import Any

from prefect import Flow

from engine.flows.inference import FLOW_NAME as _INFERENCE_FLOW_NAME
from engine.flows.inference import ai_inference_pipeline

FLOWS: dict[str, Flow[..., Any]] = {
    _INFERENCE_FLOW_NAME: ai_inference_pipeline,
}

__all__ = ["FLOWS", "ai_inference_pipeline"]
