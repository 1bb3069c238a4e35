"""API clients for tests: one per user, authenticated as the platform's API clients are."""

from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient


def api_client_for(user) -> APIClient:
    """A client that sends ``user``'s API token, as an external API client would."""
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client
