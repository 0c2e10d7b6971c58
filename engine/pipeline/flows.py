"""Flow registry: the flows deployment files may name in `flow_name`.

`engine.config.loader` validates `flow_name` and `parameters` against this mapping, and the
engine serves deployments from it, so a flow that is not listed here cannot be deployed.
"""

from __future__ import annotations

from typing import Any

from prefect import Flow

from engine.pipeline.inference import FLOW_NAME as _INFERENCE_FLOW_NAME
from engine.pipeline.inference import TASK_ORDER as _INFERENCE_TASK_ORDER
from engine.pipeline.inference import ai_inference_pipeline

FLOWS: dict[str, Flow[..., Any]] = {
    _INFERENCE_FLOW_NAME: ai_inference_pipeline,
}

FLOW_TASKS: dict[str, tuple[str, ...]] = {
    _INFERENCE_FLOW_NAME: _INFERENCE_TASK_ORDER,
}
"""Each flow's tasks in call order: what a retry's `from_task` may name."""

__all__ = ["FLOWS", "FLOW_TASKS", "ai_inference_pipeline"]
