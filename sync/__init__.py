"""crmsync: keeps HubSpot and Dynamics 365 in agreement and reports pipeline KPIs."""
