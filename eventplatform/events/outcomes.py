"""What a handler raises to say how its attempt ended, other than by returning."""


class Skip(Exception):
    """Raised by a handler whose target is not configured: the delivery is recorded as skipped."""


class PermanentFailure(Exception):
    """Raised by a handler for a failure no retry can fix: the delivery becomes a dead letter."""


class RetryLater(Exception):
    """Raised by a handler told when to try again (an HTTP ``Retry-After``)."""

    def __init__(self, message: str, *, seconds: float) -> None:
        super().__init__(message)
        self.seconds = seconds
