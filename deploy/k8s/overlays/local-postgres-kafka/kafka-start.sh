#!/bin/sh
# Kafka's container: one KRaft node (broker and controller). Clients: SASL/SCRAM-SHA-512 over TLS on 9093,
# advertised as $KAFKA_ADVERTISED_HOST:9093; the broker's own and the controller's listeners stay on loopback.
# On first start (an empty volume) the storage is formatted with a new cluster id and the SCRAM credential of
# $KAFKA_USER / $KAFKA_PASSWORD; every start writes the configuration and runs the broker.
set -eu
DATA="${KAFKA_DATA:-/var/lib/kafka}" TLS="${KAFKA_TLS:-/tls}" LIBS="${KAFKA_LIBS:-/opt/kafka/libs}"
CONF=/tmp/kafka
umask 077
mkdir -p "$CONF" "$DATA/logs"
# Kafka reads a PEM key store as one file: the private key (PKCS#8), then the certificate.
cat "$TLS/tls.key" "$TLS/tls.crt" > "$CONF/keystore.pem"
cat > "$CONF/server.properties" <<PROPERTIES
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:9095
listeners=CLIENTS://:9093,BROKER://127.0.0.1:9094,CONTROLLER://127.0.0.1:9095
advertised.listeners=CLIENTS://$KAFKA_ADVERTISED_HOST:9093,BROKER://127.0.0.1:9094
listener.security.protocol.map=CLIENTS:SASL_SSL,BROKER:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=BROKER
controller.listener.names=CONTROLLER
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.clients.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.clients.ssl.keystore.type=PEM
listener.name.clients.ssl.keystore.location=$CONF/keystore.pem
log.dirs=$DATA/logs
num.partitions=4
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.hours=24
PROPERTIES
cat > "$CONF/log4j2.properties" <<'LOG4J2'
status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = %d %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.out.ref = OUT
logger.server.name = kafka.server.KafkaRaftServer
logger.server.level = info
LOG4J2
JAVA_OPTS="-Xms128m -Xmx512m -XX:+UseSerialGC -XX:-UsePerfData -Djava.awt.headless=true"
if [ ! -f "$DATA/logs/meta.properties" ]; then
  # A cluster id as Kafka writes one (URL-safe base64 of 16 bytes), never starting with "-" (read as an option).
  id=-
  while [ "${id#-}" != "$id" ]; do id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"; done
  # shellcheck disable=SC2086
  java $JAVA_OPTS -XX:TieredStopAtLevel=1 "-Dlog4j2.configurationFile=$CONF/log4j2.properties" -cp "$LIBS/*" \
    kafka.tools.StorageTool format -t "$id" -c "$CONF/server.properties" \
    --add-scram "SCRAM-SHA-512=[name=$KAFKA_USER,password=$KAFKA_PASSWORD]"
fi
# shellcheck disable=SC2086
exec java $JAVA_OPTS "-Dlog4j2.configurationFile=$CONF/log4j2.properties" -cp "$LIBS/*" kafka.Kafka "$CONF/server.properties"
