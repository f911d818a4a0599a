"""The Dynamics 365 (Dataverse Web API v9.2) connector."""

from sync.connectors.dynamics.connector import DynamicsConnector

__all__ = ["DynamicsConnector"]
