"""The REST API: one NinjaAPI at /api/, authenticated on every route."""

from __future__ import annotations

from ninja import NinjaAPI

from carethread.api.auth import default_auth
from carethread.api.errors import install_handlers
from carethread.api.messaging import router as messaging_router
from carethread.api.routes import router
from carethread.api.triage import router as triage_router

api = NinjaAPI(
    title="Carethread API",
    version="1",
    description="Secure messaging between patients and their care teams.",
    auth=default_auth(),
    urls_namespace="api",
    openapi_url="/openapi.json",
    # The interactive docs page loads scripts from a CDN and inline: not allowed by our CSP.
    docs_url=None,
)
install_handlers(api)
api.add_router("/", router)
api.add_router("/", messaging_router)
api.add_router("/", triage_router)
api.add_router("/", "carethread.api.notifications.router")
api.add_router("/", "carethread.api.measures.router")
