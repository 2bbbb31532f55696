//go:build tools

// Package tools pins the Traefik that deploy/local-cluster/build.sh compiles.
package tools

import _ "github.com/traefik/traefik/v3/cmd/traefik"
