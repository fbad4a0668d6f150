"""The composition of domain services that the API, CLI and scheduler share."""
