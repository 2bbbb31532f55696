# The local one-node Kubernetes (deploy/local-cluster/): included by the Makefile.
.PHONY: k8s-up k8s-test k8s-down k8s-build
K8S_TEST_ARGS ?=
# The data tier in the cluster: redis (overlays/local) or postgres-kafka (overlays/local-postgres-kafka: PostgreSQL
# and Kafka StatefulSets on the default StorageClass). k8s-test and k8s-down find out which one runs.
K8S_STACK ?= redis
export K8S_STACK

k8s-build:  ## build or reuse the cluster's binaries and images (no cluster)
	@bash deploy/local-cluster/deps.sh && bash deploy/local-cluster/build.sh && bash deploy/local-cluster/images.sh >/dev/null

k8s-up: dapr  ## a one-node cluster in network namespace taskboard-k8s, Dapr from its chart (volumes from the default StorageClass, local-path), Taskboard 2/2 at https://taskboard.local (Traefik), NetworkPolicy enforced, metrics-server, Jaeger + Prometheus (K8S_OBSERVABILITY=0: without); K8S_STACK=postgres-kafka: PostgreSQL and Kafka StatefulSets instead of Redis
	@bash deploy/local-cluster/up.sh

k8s-test: venv browser  ## tests/k8s against the running local cluster (not part of make test)
	@bash deploy/local-cluster/test.sh $(K8S_TEST_ARGS)

k8s-down:  ## stop the cluster, remove all it added to the host, and check the host is as before
	@bash deploy/local-cluster/down.sh
