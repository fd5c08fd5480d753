from enum import StrEnum


class CallbackState(StrEnum):
    DELIVERED = "delivered"
    FAILED = "failed"
    FAILING = "failing"
    NONE = "none"
    PENDING = "pending"

    def __str__(self) -> str:
        return str(self.value)
