"""A file fetched and checked before the update's transaction: what it holds, or why it was refused."""

from dataclasses import dataclass, field
from typing import Generic, TypeVar

from handlers.parsing import InputRejected

T = TypeVar("T")


@dataclass(frozen=True)
class Received(Generic[T]):
    """The checked file, or the refusal to answer with in its place."""

    value: T | None = None
    refusal_key: str = ""
    refusal_params: dict[str, object] = field(default_factory=dict)

    @classmethod
    def refused(cls, rejection: InputRejected) -> "Received[T]":
        """A file that will not be kept, and the message that says why."""
        return cls(refusal_key=rejection.key, refusal_params=dict(rejection.params))

    def accepted(self) -> T:
        """The checked file, or InputRejected saying why there is none."""
        if self.value is None:
            raise InputRejected(self.refusal_key, **self.refusal_params)
        return self.value
