// The pluggable output binding `bindings.taskboard-mail` (multipart e-mail with List-Unsubscribe), built by
// scripts/provision-mail-component.sh; never imported by the Python app.
module taskboard/deploy/pluggable-mail

go 1.26.6

require (
	github.com/dapr/dapr v1.18.3
	google.golang.org/grpc v1.82.1
	gopkg.in/gomail.v2 v2.0.0-20160411212932-81ebce5c23df
)

require (
	golang.org/x/net v0.57.0 // indirect
	golang.org/x/sys v0.47.0 // indirect
	golang.org/x/text v0.40.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20260727163830-6c54dddc4772 // indirect
	google.golang.org/protobuf v1.36.11 // indirect
	gopkg.in/alexcesaro/quotedprintable.v3 v3.0.0-20150716171945-2caba252f4dc // indirect
)
