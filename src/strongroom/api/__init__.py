"""HTTP API: FastAPI app factory and one router module per resource."""
