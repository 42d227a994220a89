package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/logarchive/logarchive/pkg/ops"
)

// TestHealthcheck runs the command against the worker's real /healthz handler, healthy then not,
// and against a closed port.
func TestHealthcheck(t *testing.T) {
	var sick atomic.Bool
	srv := httptest.NewServer(ops.Handler(ops.Options{Health: func() error {
		if sick.Load() {
			return errors.New("sink stuck")
		}
		return nil
	}}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	t.Setenv("LOGARCHIVE_OPS_ADDR", ":"+port) // as the task definition sets it for `ingest run`

	run := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		code := cmdHealthcheck(context.Background(), args, &out, &errb)
		return code, out.String() + errb.String()
	}
	if code, out := run(); code != 0 || strings.TrimSpace(out) != "ok" {
		t.Fatalf("healthy: exit %d, %q", code, out)
	}
	sick.Store(true)
	if code, out := run(); code != 1 || !strings.Contains(out, "503") || !strings.Contains(out, "sink stuck") {
		t.Fatalf("unhealthy: exit %d, %q", code, out)
	}
	srv.Close()
	if code, out := run("--ops-addr", "127.0.0.1:"+port, "--timeout", "1s"); code != 1 || !strings.Contains(out, "connect") {
		t.Fatalf("closed port: exit %d, %q", code, out)
	}
	if code, _ := run("--ops-addr", ""); code != 2 {
		t.Fatalf("empty address: exit %d, want 2", code)
	}
}

func TestHealthURL(t *testing.T) {
	for addr, want := range map[string]string{
		":9090":        "http://127.0.0.1:9090/healthz",
		"0.0.0.0:9090": "http://127.0.0.1:9090/healthz",
		"[::]:9090":    "http://127.0.0.1:9090/healthz",
		"10.0.0.5:81":  "http://10.0.0.5:81/healthz",
		"[::1]:9090":   "http://[::1]:9090/healthz",
	} {
		if got, err := healthURL(addr); err != nil || got != want {
			t.Errorf("healthURL(%q) = %q, %v; want %q", addr, got, err, want)
		}
	}
	if _, err := healthURL("9090"); err == nil {
		t.Error("healthURL(\"9090\"): no error")
	}
}
