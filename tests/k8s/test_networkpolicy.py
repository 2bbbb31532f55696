"""NetworkPolicy on this cluster: the API server accepts the policies, but Debian's `bridge` CNI plugin (with
host-local IPAM) does not enforce NetworkPolicy at all — an enforcing CNI (Calico, Cilium, or kube-router's
policy controller) would. This test pins that fact down: the connection the `notification-service` policy
must refuse (any pod to its app port 8001) goes through here. With an enforcing CNI it is refused; then turn
the last assertion around (deploy/README.md lists such a CNI as a prerequisite)."""

from __future__ import annotations

import json

from .conftest import NS, STATE, kube_json, kubectl, pods

PROBE = ("import socket,sys\n"
         "s=socket.socket(); s.settimeout(3)\n"
         "try:\n s.connect((sys.argv[1], 8001)); print('CONNECTED')\n"
         "except OSError as e:\n print('REFUSED', e)\n")


def test_policies_are_in_place_but_the_bridge_cni_does_not_enforce_them(cluster):
    names = {p["metadata"]["name"] for p in kube_json("-n", NS, "get", "networkpolicy")["items"]}
    assert names == {"taskboard", "notification-service"}
    conflist = json.loads((STATE / "cni" / "net.d" / "10-taskboard.conflist").read_text())
    assert [p["type"] for p in conflist["plugins"]] == ["bridge", "portmap"]  # no policy plugin in the chain
    target = pods("app.kubernetes.io/name=notification-service")[0]["status"]["podIP"]
    sink = pods("app.kubernetes.io/name=webhook-sink")[0]["metadata"]["name"]
    out = kubectl("-n", NS, "exec", sink, "--", "python", "-c", PROBE, target)
    # policy `notification-service` admits only sidecars (50002) and monitoring (9090/9464): this should be refused
    assert out.startswith("CONNECTED"), out  # ...but the bridge CNI does not enforce NetworkPolicy
