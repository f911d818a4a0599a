"""Data files shipped with crmsync: the bundled demo people (see NOTICE.md)."""
