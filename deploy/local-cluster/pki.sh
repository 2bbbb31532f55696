#!/usr/bin/env bash
# The cluster's own PKI and kubeconfigs in $STATE/pki (made fresh by up.sh; removed by down.sh), and the local
# CA of the web site: ingress-ca.crt signs taskboard.local's certificate (the ingress's TLS Secret), and is what
# clients of https://taskboard.local trust (tests/k8s).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
D="$STATE/pki"
mkdir -p "$D"
cd "$D"
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -subj "/CN=taskboard-local-ca" -days 30 -out ca.crt 2>/dev/null

# The aggregation layer's front proxy (the API server calls metrics-server as front-proxy-client).
openssl req -x509 -newkey rsa:2048 -nodes -keyout front-proxy-ca.key -subj "/CN=taskboard-front-proxy-ca" -days 30 \
  -out front-proxy-ca.crt 2>/dev/null

openssl req -x509 -newkey rsa:2048 -nodes -keyout ingress-ca.key -subj "/CN=taskboard-local-web-ca" -days 30 \
  -out ingress-ca.crt 2>/dev/null

# sign NAME SUBJECT SANS(or "") server|client [CA]
sign() {
  local n="$1" subj="$2" sans="$3" kind="$4" ca="${5:-ca}"
  openssl req -new -newkey rsa:2048 -nodes -keyout "$n.key" -subj "$subj" -out "$n.csr" 2>/dev/null
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=digitalSignature,keyEncipherment"
    if [ "$kind" = server ]; then
      echo "extendedKeyUsage=serverAuth,clientAuth"; echo "subjectAltName=$sans"
    else
      echo "extendedKeyUsage=clientAuth"
    fi
  } > "$n.ext"
  openssl x509 -req -in "$n.csr" -CA "$ca.crt" -CAkey "$ca.key" -CAcreateserial -days 30 -extfile "$n.ext" \
    -out "$n.crt" 2>/dev/null
  rm -f "$n.csr" "$n.ext"
}
svc=kubernetes.default.svc
sign apiserver "/CN=kube-apiserver" \
  "DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:$svc,DNS:$svc.cluster.local,IP:127.0.0.1,IP:$NODE_IP,IP:$KUBE_API_SVC_IP" server
sign admin "/O=system:masters/CN=taskboard-admin" "" client
sign kubelet "/O=system:nodes/CN=system:node:taskboard-node" "DNS:taskboard-node,IP:$NODE_IP,IP:127.0.0.1" server
sign front-proxy-client "/CN=front-proxy-client" "" client front-proxy-ca
sign taskboard.local "/CN=taskboard.local" "DNS:taskboard.local" server ingress-ca
openssl genrsa -out sa.key 2048 2>/dev/null
openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null

# kubeconfig FILE USER CERT
kubeconfig() {
  cat > "$STATE/$1.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- cluster: {certificate-authority: $D/ca.crt, server: "https://$NODE_IP:6443"}
  name: taskboard-local
users:
- name: $2
  user: {client-certificate: $D/$3.crt, client-key: $D/$3.key}
contexts:
- context: {cluster: taskboard-local, user: $2}
  name: taskboard-local
current-context: taskboard-local
EOF
}
kubeconfig admin admin admin
kubeconfig kubelet kubelet kubelet
