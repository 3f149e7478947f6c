package actors

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

// TestQuietProviderLogs: what the cluster logs as an error while it works
// as meant is lowered below the default level; other errors still print.
func TestQuietProviderLogs(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(quietProvider{slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelError})})
	log.Error("Automanaged server stopping..!", slog.Any("error", errors.New("http: Server closed")))
	log.Error("Bad connection to the node health status", slog.Any("error", errors.New("connection refused")))
	log.Error("EndpointWriter lost connection", slog.String("address", "a"),
		slog.Any("error", errors.New("rpc error: code = Canceled desc = grpc: the client connection is closing")))
	if buf.Len() != 0 {
		t.Fatalf("printed:\n%s", buf.String())
	}
	log.Error("EndpointWriter lost connection", slog.Any("error", errors.New("read: connection reset by peer")))
	log.Error("something else")
	if got := buf.String(); !strings.Contains(got, "connection reset by peer") || !strings.Contains(got, "something else") {
		t.Fatalf("printed:\n%s\nwant both errors", got)
	}
}
