"""HubSpot CRM v3 through the official hubspot-api-client: paging, search windows,
batches, associations, rate limits and retries."""

from sync.connectors.hubspot.client import HubSpotConnector
from sync.connectors.hubspot.pipelines import DealStage

__all__ = ["DealStage", "HubSpotConnector"]
