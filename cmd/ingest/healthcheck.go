package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

var healthcheckCommand = command{name: "ingest healthcheck", synopsis: "ingest healthcheck [--ops-addr ADDR] [--timeout D]",
	about: "Probes the worker's /healthz (the container health check: the image has no shell and no curl).\nExit 0 healthy, 1 unhealthy or unreachable."}

// cmdHealthcheck probes the worker's /healthz. It exists because the image has no shell and no
// curl: the ECS container health check runs ["CMD", "/ingest", "healthcheck"]. It reads the same
// --ops-addr (LOGARCHIVE_OPS_ADDR) as `ingest run`, so the task definition sets the port once.
// Exit codes: 0 healthy, 1 unhealthy or unreachable, 2 bad flags.
func cmdHealthcheck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ingest healthcheck", flag.ContinueOnError)
	addr := fs.String("ops-addr", ":9090", "listen address of the worker's /healthz (as given to ingest run; an empty host means loopback)")
	timeout := fs.Duration("timeout", 3*time.Second, "give up after this long (ECS's health check timeout is 5s by default)")
	if code, done := healthcheckCommand.parseFlags(fs, args, stdout, stderr); done {
		return code
	}
	url, err := healthURL(*addr)
	if err != nil {
		fmt.Fprintln(stderr, "ingest healthcheck:", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if err := probe(ctx, url); err != nil {
		fmt.Fprintln(stderr, "ingest healthcheck:", err)
		return 1
	}
	fmt.Fprintln(stdout, "ok")
	return 0
}

// healthURL turns a listen address into the URL to probe: a wildcard host (":9090", "0.0.0.0:9090",
// "[::]:9090") is probed on loopback, where the worker also listens.
func healthURL(addr string) (string, error) {
	if addr == "" {
		return "", errors.New("--ops-addr is empty: the worker serves no /healthz to probe")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("--ops-addr %q: %w", addr, err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/healthz", nil
}

func probe(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	// No proxy: HTTP(S)_PROXY set for the AWS APIs must not route a loopback probe elsewhere.
	client := &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, strings.ToValidUTF8(strings.TrimSpace(string(body)), "?"))
	}
	return nil
}
