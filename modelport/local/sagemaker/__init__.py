"""The local SageMaker: the SageMaker and SageMaker runtime APIs the platform calls, with
endpoints and training jobs as local processes of Modelport's model containers."""

from modelport.local.sagemaker.clock import Clock
from modelport.local.sagemaker.processes import LaunchSpec, launch
from modelport.local.sagemaker.runtime import InvokeResult
from modelport.local.sagemaker.service import LocalSageMaker
from modelport.local.sagemaker.shapes import SageMakerError

__all__ = ["Clock", "InvokeResult", "LaunchSpec", "LocalSageMaker", "SageMakerError", "launch"]
