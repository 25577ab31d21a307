"""OpenAPI documentation of the error envelope (``common/exception_handler.py`` renders it).

Views list the errors they can answer with ``error_responses(400, 401, ...)`` so that the schema at /api/schema/
documents every status code a client can receive.
"""

from django.core.validators import RegexValidator
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

_DESCRIPTIONS = {
    400: "VALIDATION_ERROR: the input is malformed; details.fields names the fields.",
    401: "AUTHENTICATION_FAILED: missing, invalid, expired or revoked credentials.",
    403: "PERMISSION_DENIED / KEY_SCOPE / IP_NOT_ALLOWED.",
    404: "NOT_FOUND (also for another account's or agent's objects).",
    406: "NOT_ACCEPTABLE: this endpoint cannot answer in the media type of the Accept header.",
    409: "Conflict with the current state (e.g. EMAIL_TAKEN).",
    413: "PAYLOAD_TOO_LARGE: the body is over the upload limit.",
    415: "UNSUPPORTED_MEDIA_TYPE: send application/json.",
    422: "Business rejection (e.g. AGENT_ARCHIVED).",
    429: "RATE_LIMITED: retry after the Retry-After header's seconds.",
}


class StrictCharField(serializers.CharField):
    """A CharField that refuses numbers, booleans and the like instead of turning them into text (``42`` is not a
    name; it is a client bug worth reporting).

    It also documents, as a ``pattern``, what DRF refuses anyway (NUL characters; whitespace-only text when blank
    is not allowed), so that the OpenAPI schema calls valid only what the API accepts.
    """

    default_error_messages = {"not_a_string": "Must be a string."}

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # (DRF returns "" before validators run when blank is allowed; the schema says "pattern, or empty".)
        if self.trim_whitespace and not self.allow_blank:
            regex, message = r"^[^\x00]*[^\x00\s][^\x00]*$", "Must contain a non-space character."
        else:
            regex, message = r"^[^\x00]+$", "Null characters are not allowed."
        self.validators.append(RegexValidator(regex, message))

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_a_string")
        return super().to_internal_value(data)


class StrictEmailField(serializers.EmailField):
    default_error_messages = {"not_a_string": "Must be a string."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_a_string")
        return super().to_internal_value(data)


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField(help_text="UPPER_SNAKE error code, stable for programs.")
    message = serializers.CharField(help_text="A human sentence.")
    details = serializers.DictField(help_text="Structured details (e.g. fields for VALIDATION_ERROR).")

    class Meta:
        ref_name = "ErrorBody"


class ErrorEnvelopeSerializer(serializers.Serializer):
    error = ErrorBodySerializer()

    class Meta:
        ref_name = "ErrorEnvelope"


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """``{status: OpenApiResponse(ErrorEnvelope)}`` for each status (413, 415 and 429 are always possible)."""
    out = {}
    for status in sorted({*statuses, 413, 415, 429}):
        out[status] = OpenApiResponse(ErrorEnvelopeSerializer, description=_DESCRIPTIONS.get(status, "Error."))
    return out
