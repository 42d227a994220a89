// Package ops serves the worker's operational endpoints: /healthz for the ECS container health
// check and load balancers, and /metrics in the Prometheus text exposition format (0.0.4), written
// by hand so the worker needs no metrics library. Metrics are gathered at scrape time from the
// components' own counters, so nothing is double-counted and no global registry exists.
package ops

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Kind is a Prometheus metric type.
type Kind string

const (
	Counter Kind = "counter"
	Gauge   Kind = "gauge"
)

// Sample is one value of a metric family.
type Sample struct {
	Labels map[string]string
	Value  float64
}

// Family is one metric with its samples.
type Family struct {
	Name    string
	Help    string
	Kind    Kind
	Samples []Sample
}

// Writer collects families during a scrape.
type Writer struct {
	fams map[string]*Family
}

// Add appends a sample to the family name, creating it on first use. Names and label names must be
// Prometheus identifiers ([a-zA-Z_:][a-zA-Z0-9_:]*); labels come as name, value pairs.
func (w *Writer) Add(name, help string, kind Kind, value float64, labels ...string) {
	f := w.fams[name]
	if f == nil {
		f = &Family{Name: name, Help: help, Kind: kind}
		w.fams[name] = f
	}
	var lm map[string]string
	if len(labels) > 0 {
		lm = make(map[string]string, len(labels)/2)
		for i := 0; i+1 < len(labels); i += 2 {
			lm[labels[i]] = labels[i+1]
		}
	}
	f.Samples = append(f.Samples, Sample{Labels: lm, Value: value})
}

// Collector adds the current values of some component's metrics.
type Collector func(w *Writer)

// WriteText renders families in the text exposition format, sorted by name for stable output.
func WriteText(out io.Writer, collectors ...Collector) error {
	w := &Writer{fams: map[string]*Family{}}
	for _, c := range collectors {
		c(w)
	}
	names := make([]string, 0, len(w.fams))
	for n := range w.fams {
		if !validName(n) {
			return fmt.Errorf("ops: invalid metric name %q", n)
		}
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		f := w.fams[n]
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", n, escapeHelp(f.Help), n, f.Kind)
		for _, s := range f.Samples {
			b.WriteString(n)
			if len(s.Labels) > 0 {
				keys := make([]string, 0, len(s.Labels))
				for k := range s.Labels {
					if !validName(k) || strings.Contains(k, ":") {
						return fmt.Errorf("ops: metric %s: invalid label name %q", n, k)
					}
					keys = append(keys, k)
				}
				sort.Strings(keys)
				b.WriteByte('{')
				for i, k := range keys {
					if i > 0 {
						b.WriteByte(',')
					}
					fmt.Fprintf(&b, "%s=\"%s\"", k, escapeLabel(s.Labels[k]))
				}
				b.WriteByte('}')
			}
			b.WriteByte(' ')
			b.WriteString(formatValue(s.Value))
			b.WriteByte('\n')
		}
	}
	_, err := io.WriteString(out, b.String())
	return err
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		ok := r == '_' || r == ':' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9'
		if !ok {
			return false
		}
	}
	return true
}

func escapeHelp(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(s)
}

func escapeLabel(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`).Replace(s)
}

func formatValue(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// Health reports whether the process is healthy; a non-nil error makes /healthz answer 503.
type Health func() error

// Options configure the endpoints.
type Options struct {
	// Addr is the listen address, e.g. ":9090"; empty disables the server.
	Addr       string
	Health     Health
	Collectors []Collector
	Logger     *slog.Logger
}

// Handler returns the mux serving /healthz and /metrics.
func Handler(opts Options) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if opts.Health != nil {
			if err := opts.Health(); err != nil {
				http.Error(w, "unhealthy: "+err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		var b strings.Builder
		if err := WriteText(&b, opts.Collectors...); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		io.WriteString(w, b.String())
	})
	return mux
}

// Server is a running endpoint server.
type Server struct {
	srv  *http.Server
	ln   net.Listener
	done chan error
	once sync.Once
}

// Start listens on opts.Addr and serves until Shutdown.
func Start(opts Options) (*Server, error) {
	if opts.Addr == "" {
		return nil, errors.New("ops: no listen address")
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("ops: listen %s: %w", opts.Addr, err)
	}
	s := &Server{srv: &http.Server{Handler: Handler(opts), ReadHeaderTimeout: 5 * time.Second}, ln: ln, done: make(chan error, 1)}
	go func() { s.done <- s.srv.Serve(ln) }()
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Shutdown stops the server.
func (s *Server) Shutdown(ctx context.Context) error {
	var err error
	s.once.Do(func() {
		err = s.srv.Shutdown(ctx)
		if serr := <-s.done; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
			err = serr
		}
	})
	return err
}
