"""The API fixtures (a populated world, a client) for the language tests of the API."""

from tests.api.conftest import api_settings, client, world

__all__ = ["api_settings", "client", "world"]
