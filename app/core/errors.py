"""Domain errors. Services raise them; views and the API turn them into HTTP answers."""

from __future__ import annotations


class DomainError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}

    @property
    def headers(self) -> dict[str, str]:
        """HTTP headers that go with the answer."""
        return {}

    def to_dict(self) -> dict:
        # design §3: {"error": {"code", "message", "fields"}}; ``fields`` is {} when no one field is at fault
        return {"error": {"code": self.code, "message": self.message, "fields": dict(self.fields)}}


class ValidationFailed(DomainError):
    status = 422
    code = "validation_failed"


class PasswordRejected(ValidationFailed):
    """A wrong password for an existing account, typed somewhere other than the login form (changing
    one's password, confirming an account to add it as an administrator). It counts towards the lockout
    like a failed login: whoever rolls the action back calls
    :func:`app.accounts.services.keep_password_failure` afterwards and commits."""

    def __init__(self, message: str, fields: dict[str, str], user_id: int, field: str) -> None:
        super().__init__(message, fields)
        self.user_id = user_id
        self.field = field  # the password's field among ``fields``


class NotFound(DomainError):
    status = 404
    code = "not_found"


class PermissionDenied(DomainError):
    status = 403
    code = "forbidden"


class InvalidState(DomainError):
    """The object is not in a state that allows the action (e.g. a task already handled)."""

    status = 409
    code = "conflict"


class AuthenticationFailed(DomainError):
    status = 401
    code = "unauthorized"


class AccountLocked(AuthenticationFailed):
    """Too many wrong passwords: the account is locked for a while (design §3: 423)."""

    status = 423
    code = "locked"


class RateLimited(DomainError):
    """Too many requests of one kind from one client address (or for one account, mobile or e-mail) within
    a window: ``retry_after`` is the number of seconds until the window ends (the ``Retry-After`` header)."""

    status = 429
    code = "rate_limited"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class PasswordChangeNeeded(DomainError):
    """An administrator reset the password: the temporary one must be replaced before anything else."""

    status = 403
    code = "password_change_required"


#: SQLSTATEs of a transaction PostgreSQL rolled back to break a race (deadlock_detected,
#: serialization_failure): nothing was wrong with the request, and running it again may succeed.
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})


def is_retryable(exc: BaseException) -> bool:
    """A deadlock or serialization failure the database reported (not a domain error: retry it)."""
    from sqlalchemy.exc import DBAPIError

    return isinstance(exc, DBAPIError) and getattr(exc.orig, "pgcode", None) in RETRYABLE_SQLSTATES
