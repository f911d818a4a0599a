"""The HTTP layer that every response of hubspot-api-client passes through, so the pacer gets its headers.

The SDK's plain methods return only the parsed body, and its exceptions are raised after
the response is read. `HubSpot(api_factory=...)` is the SDK's hook for building its API
objects: the factory here builds them as the SDK does, then wraps the urllib3 pool of
each one, so the headers of every response reach `observe`, whatever its status.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from hubspot.discovery.discovery_base import DiscoveryBase

# Receives the headers of one response and whether the request was a search.
Observer = Callable[[Mapping[str, str], bool], None]


def observing_api_factory(observe: Observer) -> Callable[[Any, str, dict[str, Any]], Any]:
    """Return an `api_factory` for `HubSpot(...)` whose API objects report each response to `observe`."""

    def factory(package: Any, api_name: str, config: dict[str, Any]) -> Any:
        # The SDK's own factory: configuration, retries and user agent stay as the SDK sets them.
        api = DiscoveryBase._default_api_factory(package, api_name, config)
        rest = api.api_client.rest_client
        rest.pool_manager = ObservedPool(rest.pool_manager, observe)
        return api

    return factory


class ObservedPool:
    """A urllib3 pool manager that hands the headers of each response to an observer.

    The SDK's REST client calls only `request`; every other attribute is the wrapped pool's.
    """

    def __init__(self, pool: Any, observe: Observer):
        self._pool = pool
        self._observe = observe

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        response = self._pool.request(method, url, *args, **kwargs)
        is_search = method.upper() == "POST" and urlsplit(url).path.rstrip("/").endswith("/search")
        self._observe(response.headers, is_search)
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pool, name)
