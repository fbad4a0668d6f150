"""Every router the app mounts, listed once, in order."""

from fastapi import APIRouter

from strongroom.api.routers import crypto, health, keys

ROUTERS: tuple[APIRouter, ...] = (health.router, keys.router, crypto.router)
