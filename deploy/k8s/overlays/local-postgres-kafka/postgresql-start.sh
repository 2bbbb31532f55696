#!/bin/sh
# PostgreSQL's container: on first start (an empty volume) initdb with user `taskboard` and the password of
# $POSTGRES_PASSWORD, TLS-only password logins from the network, and the database `taskboard`; then the server
# (max_connections: 8 sidecars, the HPA's 6 taskboard pods and 2 notification-service ones, x maxConns 20).
set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  umask 077
  printf '%s' "$POSTGRES_PASSWORD" > /tmp/pwfile
  initdb -D "$PGDATA" -U taskboard --pwfile=/tmp/pwfile --auth-local=trust --auth-host=reject -E UTF8 --locale=C
  rm -f /tmp/pwfile
  # Sockets in the pod: trust (probes, kubectl exec psql); the network: TLS and a password, nothing else.
  printf 'local all all trust\nhostssl all all 0.0.0.0/0 scram-sha-256\nhostssl all all ::/0 scram-sha-256\n' \
    > "$PGDATA/pg_hba.conf"
  echo 'CREATE DATABASE taskboard' | postgres --single -D "$PGDATA" -c unix_socket_directories=/tmp postgres >/dev/null
fi
exec postgres -D "$PGDATA" -c listen_addresses='*' -c unix_socket_directories=/tmp -c max_connections=200 \
  -c ssl=on -c ssl_cert_file=/tls/tls.crt -c ssl_key_file=/tls/tls.key -c password_encryption=scram-sha-256
