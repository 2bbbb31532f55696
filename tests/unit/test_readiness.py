"""/readyz answers a fixed reason: the failure's detail goes to the log, not to whoever probes."""

import socket

from webapp.app import create_app


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_readiness_without_a_sidecar_names_no_internals(capfd):
    grpc_port, http_port = _free_port(), _free_port()
    app = create_app({"TESTING": True, "DAPR_GRPC_PORT": grpc_port, "DAPR_HTTP_PORT": http_port,
                      "DAPR_HEALTH_TIMEOUT_SECONDS": 0.3, "DAPR_TIMEOUT_SECONDS": 0.5})
    resp = app.test_client().get("/readyz")
    body = resp.get_json()
    assert resp.status_code == 503
    assert body == {"status": "unavailable", "reason": "sidecar unavailable"}
    assert str(grpc_port) not in resp.get_data(as_text=True) and str(http_port) not in resp.get_data(as_text=True)
    assert "not ready: metadata: Unavailable" in capfd.readouterr().err  # the detail is logged
