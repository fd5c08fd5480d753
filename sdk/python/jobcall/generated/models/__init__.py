"""Contains all the data models used in inputs/outputs"""

from .batch_item_result import BatchItemResult
from .batch_item_result_status import BatchItemResultStatus
from .batch_job_request import BatchJobRequest
from .batch_result import BatchResult
from .callback_state import CallbackState
from .callback_summary import CallbackSummary
from .client import Client
from .client_with_secret import ClientWithSecret
from .create_client_request import CreateClientRequest
from .delivery_attempt import DeliveryAttempt
from .delivery_attempt_list import DeliveryAttemptList
from .delivery_trigger import DeliveryTrigger
from .event_type import EventType
from .field_error import FieldError
from .health import Health
from .health_status import HealthStatus
from .job import Job
from .job_error import JobError
from .job_event import JobEvent
from .job_input import JobInput
from .job_list import JobList
from .job_metadata import JobMetadata
from .job_status import JobStatus
from .kind import Kind
from .kind_input_schema import KindInputSchema
from .kind_list import KindList
from .problem import Problem
from .readiness import Readiness
from .readiness_checks import ReadinessChecks
from .readiness_checks_database import ReadinessChecksDatabase
from .readiness_status import ReadinessStatus
from .replay_queued import ReplayQueued
from .signature_scheme import SignatureScheme
from .signing_key import SigningKey
from .signing_key_algorithm import SigningKeyAlgorithm
from .signing_key_list import SigningKeyList
from .submit_job_batch_request import SubmitJobBatchRequest
from .submit_job_request import SubmitJobRequest
from .test_callback_request import TestCallbackRequest
from .test_callback_result import TestCallbackResult
from .test_event import TestEvent
from .test_event_data import TestEventData
from .update_client_request import UpdateClientRequest

__all__ = (
    "BatchItemResult",
    "BatchItemResultStatus",
    "BatchJobRequest",
    "BatchResult",
    "CallbackState",
    "CallbackSummary",
    "Client",
    "ClientWithSecret",
    "CreateClientRequest",
    "DeliveryAttempt",
    "DeliveryAttemptList",
    "DeliveryTrigger",
    "EventType",
    "FieldError",
    "Health",
    "HealthStatus",
    "Job",
    "JobError",
    "JobEvent",
    "JobInput",
    "JobList",
    "JobMetadata",
    "JobStatus",
    "Kind",
    "KindInputSchema",
    "KindList",
    "Problem",
    "Readiness",
    "ReadinessChecks",
    "ReadinessChecksDatabase",
    "ReadinessStatus",
    "ReplayQueued",
    "SignatureScheme",
    "SigningKey",
    "SigningKeyAlgorithm",
    "SigningKeyList",
    "SubmitJobBatchRequest",
    "SubmitJobRequest",
    "TestCallbackRequest",
    "TestCallbackResult",
    "TestEvent",
    "TestEventData",
    "UpdateClientRequest",
)
