"""What every app's API shares: a service's refusal as a 400 that names the field."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework.exceptions import ValidationError


def as_drf_error(error: DjangoValidationError) -> ValidationError:
    """A service's ValidationError as DRF's, so the client gets a 400 naming each field."""
    if hasattr(error, "error_dict"):
        return ValidationError(error.message_dict)
    return ValidationError({"non_field_errors": error.messages})
