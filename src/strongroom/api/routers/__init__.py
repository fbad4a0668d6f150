"""Every router the app mounts, listed once, in order."""

from fastapi import APIRouter

from strongroom.api.routers import (
    access_keys,
    api_keys,
    blind_index,
    broker,
    certificates,
    crypto,
    health,
    keys,
    mcp,
    metrics,
    security,
    service_keys,
    share_page,
    shares,
    usage,
)
from strongroom.api.routers import audit as audit_routes
from strongroom.api.routers import roles as role_routes
from strongroom.api.routers import secrets as secret_routes
from strongroom.api.routers import tokens as token_routes

# The data endpoints first: route matching is linear and they carry the load.
ROUTERS: tuple[APIRouter, ...] = (
    crypto.router,
    keys.router,
    blind_index.router,
    service_keys.router,
    security.router,
    health.router,
    metrics.router,
    shares.router,
    share_page.router,
    access_keys.router,
    audit_routes.router,
    token_routes.router,
    role_routes.router,
    secret_routes.router,
    certificates.router,
    certificates.ca_router,
    api_keys.router,
    usage.router,
    broker.router,
    mcp.router,
)
