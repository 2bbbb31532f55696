"""Liveness and readiness, shared by both apps."""

from __future__ import annotations

import logging
import os

from flask import Blueprint, current_app, jsonify

from .dapr_gateway import GatewayError
from .sidecar import gateway

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """200 while the process serves requests."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """200 only when the sidecar answers and the components this app needs are loaded."""
    drain_file = current_app.config.get("DRAIN_FILE")
    if drain_file and os.path.exists(drain_file):
        # The pod is being stopped (preStop created the file): leave the load balancer
        # first, while in-flight requests finish.
        return jsonify(status="draining"), 503
    required = [c for c in str(current_app.config["REQUIRED_COMPONENTS"]).split(",") if c]
    try:
        meta = gateway().metadata()
    except GatewayError as err:
        # The detail (addresses, ports, SDK text) is for the log, not for whoever probes.
        log.warning("not ready: %s", err)
        return jsonify(status="unavailable", reason="sidecar unavailable"), 503
    loaded = {c["name"] for c in meta["components"]}
    missing = sorted(set(required) - loaded)
    if missing:
        return jsonify(status="unavailable", reason="components not loaded", missing=missing), 503
    return jsonify(status="ready", app_id=meta["app_id"], components=sorted(loaded))
