// Command taskboard-mail is a Dapr pluggable component: an output binding that sends each request as an
// e-mail to one recipient, with a text and an HTML part and the List-Unsubscribe headers of RFC 8058, through
// an SMTP server (gomail, as Dapr's bindings.smtp). daprd finds it by its Unix socket,
// $DAPR_COMPONENTS_SOCKETS_FOLDER/<name>.sock (default /tmp/dapr-components-sockets/taskboard-mail.sock), and
// a component of type bindings.<name> uses it.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"

	proto "github.com/dapr/dapr/pkg/proto/components/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	grpcmeta "google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"
	"gopkg.in/gomail.v2"
)

const defaultSocketFolder = "/tmp/dapr-components-sockets"

// instanceHeader names the component (metadata.name) a call is for: one process can serve several.
const instanceHeader = "x-component-instance"

type binding struct {
	proto.UnimplementedOutputBindingServer
	mu      sync.RWMutex
	servers map[string]server // by component name
	send    func(server, *gomail.Message) error
}

func instanceOf(ctx context.Context) string {
	if md, ok := grpcmeta.FromIncomingContext(ctx); ok {
		if values := md.Get(instanceHeader); len(values) > 0 {
			return values[0]
		}
	}
	return ""
}

func (b *binding) Init(ctx context.Context, req *proto.OutputBindingInitRequest) (*proto.OutputBindingInitResponse, error) {
	s, err := parseServer(req.GetMetadata().GetProperties())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	b.mu.Lock()
	b.servers[instanceOf(ctx)] = s
	b.mu.Unlock()
	log.Printf("component %q: SMTP server %s:%d, from %s", instanceOf(ctx), s.Host, s.Port, s.From)
	return &proto.OutputBindingInitResponse{}, nil
}

func (b *binding) ListOperations(context.Context, *proto.ListOperationsRequest) (*proto.ListOperationsResponse, error) {
	return &proto.ListOperationsResponse{Operations: []string{"create"}}, nil
}

func (b *binding) Ping(context.Context, *proto.PingRequest) (*proto.PingResponse, error) {
	return &proto.PingResponse{}, nil
}

func (b *binding) Invoke(ctx context.Context, req *proto.InvokeRequest) (*proto.InvokeResponse, error) {
	if req.GetOperation() != "create" {
		return nil, status.Errorf(codes.InvalidArgument, "operation %q is not supported: create", req.GetOperation())
	}
	b.mu.RLock()
	s, ok := b.servers[instanceOf(ctx)]
	b.mu.RUnlock()
	if !ok {
		return nil, status.Error(codes.FailedPrecondition, "component not initialised")
	}
	msg, err := buildMessage(s.From, req.GetData(), req.GetMetadata())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	if err := b.send(s, msg); err != nil {
		return nil, status.Errorf(codes.Unavailable, "sending to %s:%d: %v", s.Host, s.Port, err)
	}
	return &proto.InvokeResponse{}, nil
}

// sendSMTP delivers through the server: STARTTLS when offered, implicit TLS on port 465 (gomail).
func sendSMTP(s server, msg *gomail.Message) error {
	dialer := gomail.NewDialer(s.Host, s.Port, s.User, s.Password)
	dialer.TLSConfig = &tls.Config{ServerName: s.Host, InsecureSkipVerify: s.SkipTLSVerify} // #nosec G402: opt-in
	return dialer.DialAndSend(msg)
}

// listen opens the socket, replacing one a dead process left behind; an error if a live process holds it.
func listen(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	if conn, err := net.Dial("unix", path); err == nil {
		conn.Close()
		return nil, fmt.Errorf("%s is served by another process", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	return net.Listen("unix", path)
}

func main() {
	name := flag.String("name", "taskboard-mail", "the socket's name: components use type bindings.<name>")
	flag.Parse()
	log.SetPrefix("[taskboard-mail] ")
	folder := os.Getenv("DAPR_COMPONENTS_SOCKETS_FOLDER")
	if folder == "" {
		folder = defaultSocketFolder
	}
	path := filepath.Join(folder, *name+".sock")
	lis, err := listen(path)
	if err != nil {
		log.Fatalf("cannot listen: %v", err)
	}
	srv := grpc.NewServer()
	proto.RegisterOutputBindingServer(srv, &binding{servers: map[string]server{}, send: sendSMTP})
	reflection.Register(srv) // daprd lists a socket's services through reflection
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-stop
		srv.GracefulStop()
	}()
	log.Printf("serving bindings.%s on %s", *name, path)
	if err := srv.Serve(lis); err != nil {
		log.Fatalf("serve: %v", err)
	}
	os.Remove(path)
}
