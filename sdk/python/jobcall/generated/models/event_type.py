from enum import StrEnum


class EventType(StrEnum):
    JOB_CANCELED = "job.canceled"
    JOB_FAILED = "job.failed"
    JOB_PROGRESS = "job.progress"
    JOB_STARTED = "job.started"
    JOB_SUCCEEDED = "job.succeeded"

    def __str__(self) -> str:
        return str(self.value)
