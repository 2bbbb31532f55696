package main

// The components this daprd can load. To support another component type, add its
// registration here (copy it from dapr's cmd/daprd/components/<type>.go).

import (
	"github.com/dapr/components-contrib/bindings/cron"
	bhttp "github.com/dapr/components-contrib/bindings/http"
	"github.com/dapr/components-contrib/bindings/localstorage"
	"github.com/dapr/components-contrib/bindings/smtp"
	lredis "github.com/dapr/components-contrib/lock/redis"
	nrkubernetes "github.com/dapr/components-contrib/nameresolution/kubernetes"
	"github.com/dapr/components-contrib/nameresolution/mdns"
	nrsqlite "github.com/dapr/components-contrib/nameresolution/sqlite"
	pinmemory "github.com/dapr/components-contrib/pubsub/in-memory"
	"github.com/dapr/components-contrib/pubsub/kafka"
	predis "github.com/dapr/components-contrib/pubsub/redis"
	sskubernetes "github.com/dapr/components-contrib/secretstores/kubernetes"
	"github.com/dapr/components-contrib/secretstores/local/env"
	"github.com/dapr/components-contrib/secretstores/local/file"
	sinmemory "github.com/dapr/components-contrib/state/in-memory"
	pgv1 "github.com/dapr/components-contrib/state/postgresql/v1"
	pgv2 "github.com/dapr/components-contrib/state/postgresql/v2"
	sredis "github.com/dapr/components-contrib/state/redis"
	ssqlite "github.com/dapr/components-contrib/state/sqlite"

	"github.com/dapr/dapr/pkg/components"
	bindingsLoader "github.com/dapr/dapr/pkg/components/bindings"
	lockLoader "github.com/dapr/dapr/pkg/components/lock"
	nrLoader "github.com/dapr/dapr/pkg/components/nameresolution"
	pubsubLoader "github.com/dapr/dapr/pkg/components/pubsub"
	secretstoresLoader "github.com/dapr/dapr/pkg/components/secretstores"
	stateLoader "github.com/dapr/dapr/pkg/components/state"
)

func init() {
	// State stores.
	stateLoader.DefaultRegistry.RegisterComponent(sredis.NewRedisStateStore, "redis")
	stateLoader.DefaultRegistry.RegisterComponent(ssqlite.NewSQLiteStateStore, "sqlite", "sqlite3")
	stateLoader.DefaultRegistry.RegisterComponent(sinmemory.NewInMemoryStateStore, "in-memory")
	postgres := components.Versioning{
		Preferred: components.VersionConstructor{Version: "v2", Constructor: pgv2.NewPostgreSQLStateStore},
		Others:    []components.VersionConstructor{{Version: "v1", Constructor: pgv1.NewPostgreSQLStateStore}},
		Default:   "v1",
	}
	stateLoader.DefaultRegistry.RegisterComponentWithVersions("postgres", postgres)
	stateLoader.DefaultRegistry.RegisterComponentWithVersions("postgresql", postgres)

	// Pub/sub brokers.
	pubsubLoader.DefaultRegistry.RegisterComponent(predis.NewRedisStreams, "redis")
	pubsubLoader.DefaultRegistry.RegisterComponent(kafka.NewKafka, "kafka")
	pubsubLoader.DefaultRegistry.RegisterComponent(pinmemory.New, "in-memory")

	// Secret stores.
	secretstoresLoader.DefaultRegistry.RegisterComponent(file.NewLocalSecretStore, "local.file")
	secretstoresLoader.DefaultRegistry.RegisterComponent(env.NewEnvSecretStore, "local.env")
	secretstoresLoader.DefaultRegistry.RegisterComponent(sskubernetes.NewKubernetesSecretStore, "kubernetes")

	// Distributed locks (unique usernames: first registration wins).
	lockLoader.DefaultRegistry.RegisterComponent(lredis.NewStandaloneRedisLock, "redis")

	// Bindings.
	bindingsLoader.DefaultRegistry.RegisterInputBinding(cron.NewCron, "cron")
	bindingsLoader.DefaultRegistry.RegisterOutputBinding(localstorage.NewLocalStorage, "localstorage")
	bindingsLoader.DefaultRegistry.RegisterOutputBinding(bhttp.NewHTTP, "http")
	bindingsLoader.DefaultRegistry.RegisterOutputBinding(smtp.NewSMTP, "smtp")

	// Name resolution (mDNS locally, SQLite where multicast is blocked, Kubernetes DNS in a cluster).
	nrLoader.DefaultRegistry.RegisterComponent(mdns.NewResolver, "mdns")
	nrLoader.DefaultRegistry.RegisterComponent(nrsqlite.NewResolver, "sqlite")
	nrLoader.DefaultRegistry.RegisterComponent(nrkubernetes.NewResolver, "kubernetes")
}
