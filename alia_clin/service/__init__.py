"""The FHIR integration service (``alia-clin serve``): a FastAPI app that analyzes and
de-identifies clinical notes posted as FHIR, optionally writing results to an upstream FHIR
server. Needs the ``service`` extra (fastapi, uvicorn, httpx, pyjwt, pydantic-settings).
"""

from __future__ import annotations

from .app import create_app
from .settings import ServiceSettings

__all__ = ["ServiceSettings", "create_app"]
