package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/logarchive/logarchive/pkg/ops"
	"github.com/logarchive/logarchive/pkg/store"
	"github.com/logarchive/logarchive/pkg/synth"
)

// layout is an OCI image layout tarball read back: its files by name.
type layout map[string][]byte

func readLayout(t *testing.T, p string) layout {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	l := layout{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return l
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if l[h.Name], err = io.ReadAll(tr); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// blob returns a descriptor's blob after checking its digest and size, and decodes JSON blobs into v.
func (l layout) blob(t *testing.T, d Descriptor, v any) []byte {
	t.Helper()
	hexd, ok := strings.CutPrefix(d.Digest, "sha256:")
	if !ok {
		t.Fatalf("digest %q is not sha256", d.Digest)
	}
	b, ok := l["blobs/sha256/"+hexd]
	if !ok {
		t.Fatalf("blob %s missing", d.Digest)
	}
	sum := sha256.Sum256(b)
	if hex.EncodeToString(sum[:]) != hexd || int64(len(b)) != d.Size {
		t.Fatalf("blob %s: content does not match its descriptor", d.Digest)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("blob %s: %v", d.Digest, err)
		}
	}
	return b
}

// rootFS extracts a gzipped layer into dir, checks its diff id, and returns the file modes by path.
func extractLayer(t *testing.T, gz []byte, diffID, dir string) map[string]os.FileMode {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(raw); "sha256:"+hex.EncodeToString(sum[:]) != diffID {
		t.Fatalf("layer diff id %s does not match its content", diffID)
	}
	modes := map[string]os.FileMode{}
	tr := tar.NewReader(bytes.NewReader(raw))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return modes
		}
		if err != nil {
			t.Fatal(err)
		}
		// The names come from our own writer; still refuse anything that would leave dir.
		name := filepath.Clean(h.Name)
		if filepath.IsAbs(name) || strings.HasPrefix(name, "..") {
			t.Fatalf("layer entry %q escapes the root", h.Name)
		}
		p := filepath.Join(dir, name)
		modes[name] = h.FileInfo().Mode()
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, b, os.FileMode(h.Mode)&os.ModePerm); err != nil {
				t.Fatal(err)
			}
		default:
			t.Fatalf("unexpected layer entry type %c for %s", h.Typeflag, h.Name)
		}
	}
}

// TestImage builds the image the way `make image` does, for this machine's architecture only (the
// other one is the same code with another GOARCH and would double the compile time), reads the
// tarball back and checks what a registry and ECS rely on. Then it runs the image's root file
// system's /ingest in a chroot holding nothing but the layer: static linking, the CA bundle and the
// non-root user are exercised, not just declared.
func TestImage(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles static binaries")
	}
	ca := "/etc/ssl/certs/ca-certificates.crt"
	if _, err := os.Stat(ca); err != nil {
		t.Skipf("no CA bundle at %s (Debian package ca-certificates): %v", ca, err)
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "logarchive.oci.tar")
	var stdout, stderr bytes.Buffer
	plat := "linux/" + runtime.GOARCH
	if code := run(context.Background(), []string{"--out", out, "--platforms", plat, "--tag", "test"}, &stdout, &stderr); code != 0 {
		t.Fatalf("image: exit %d: %s", code, stderr.String())
	}
	l := readLayout(t, out)
	if string(l["oci-layout"]) != `{"imageLayoutVersion":"1.0.0"}` {
		t.Fatalf("oci-layout %q", l["oci-layout"])
	}
	var idx Index
	if err := json.Unmarshal(l["index.json"], &idx); err != nil {
		t.Fatal(err)
	}
	if idx.SchemaVersion != 2 || idx.MediaType != MediaIndex || len(idx.Manifests) != 1 || idx.Manifests[0].MediaType != MediaIndex ||
		idx.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != "test" {
		t.Fatalf("index.json %+v: want one multi-platform index named test", idx)
	}
	var plats Index
	l.blob(t, idx.Manifests[0], &plats)
	if len(plats.Manifests) != 1 {
		t.Fatalf("platform index %+v", plats)
	}
	md := plats.Manifests[0]
	if md.MediaType != MediaManifest || md.Platform == nil || md.Platform.OS != "linux" || md.Platform.Architecture != runtime.GOARCH {
		t.Fatalf("index entry %+v", md)
	}
	var m Manifest
	l.blob(t, md, &m)
	if m.Config.MediaType != MediaConfig || len(m.Layers) != 1 || m.Layers[0].MediaType != MediaLayer {
		t.Fatalf("manifest %+v", m)
	}
	var cfg Config
	l.blob(t, m.Config, &cfg)
	if cfg.OS != "linux" || cfg.Architecture != runtime.GOARCH {
		t.Errorf("config platform %s/%s, want %s", cfg.OS, cfg.Architecture, plat)
	}
	if got := strings.Join(cfg.Config.Entrypoint, " "); got != "/ingest" {
		t.Errorf("entrypoint %q, want /ingest", got)
	}
	if u, _, _ := strings.Cut(cfg.Config.User, ":"); u != "65532" {
		t.Errorf("user %q, want 65532", cfg.Config.User)
	}
	if len(cfg.RootFS.DiffIDs) != 1 {
		t.Fatalf("rootfs %+v", cfg.RootFS)
	}

	root := filepath.Join(dir, "root")
	modes := extractLayer(t, l.blob(t, m.Layers[0], nil), cfg.RootFS.DiffIDs[0], root)
	for _, c := range Commands {
		if modes[c] != 0o755 {
			t.Errorf("/%s mode %v, want -rwxr-xr-x", c, modes[c])
		}
		assertStatic(t, filepath.Join(root, c))
	}
	if want, _ := os.ReadFile(ca); !bytes.Equal(mustRead(t, filepath.Join(root, "etc/ssl/certs/ca-certificates.crt")), want) {
		t.Error("the image's CA bundle differs from the build machine's")
	}
	if !strings.Contains(string(mustRead(t, filepath.Join(root, "etc/passwd"))), ":65532:65532:") {
		t.Error("/etc/passwd has no entry for 65532")
	}

	// An independent reader, where installed (Debian package skopeo): what a push would see.
	if skopeo, err := exec.LookPath("skopeo"); err == nil {
		out, err := exec.Command(skopeo, "inspect", "--config", "oci-archive:"+out).Output()
		if err != nil {
			t.Fatalf("skopeo inspect: %v", err)
		}
		var sc Config
		if err := json.Unmarshal(out, &sc); err != nil {
			t.Fatal(err)
		}
		if sc.Architecture != runtime.GOARCH || sc.Config.User != cfg.Config.User || strings.Join(sc.Config.Entrypoint, " ") != "/ingest" {
			t.Errorf("skopeo reads %s %q %q", sc.Architecture, sc.Config.User, sc.Config.Entrypoint)
		}
	}

	t.Run("empty root", func(t *testing.T) { testEmptyRoot(t, root) })
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// assertStatic checks the ELF file has no program interpreter (no dynamic loader, no libc) and is
// built for this machine.
func assertStatic(t *testing.T, p string) {
	t.Helper()
	f, err := elf.Open(p)
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			t.Errorf("%s is dynamically linked (PT_INTERP)", p)
		}
	}
	want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[runtime.GOARCH]
	if f.Machine != want {
		t.Errorf("%s: machine %v, want %v", p, f.Machine, want)
	}
}

// testEmptyRoot runs /ingest chrooted into the image's root file system as uid 65532: the health
// check against a live /healthz (healthy, then failing) and `ingest local` over a small synthetic
// archive, its Parquet output checked from outside.
func testEmptyRoot(t *testing.T, root string) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("chroot needs root; CI runs as root")
		}
		t.Skip("chroot needs root")
	}
	var sick atomic.Bool
	srv := httptest.NewServer(ops.Handler(ops.Options{Health: func() error {
		if sick.Load() {
			return errors.New("ledger unreachable")
		}
		return nil
	}}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))

	ingest := func(env []string, args ...string) (int, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "/ingest", args...)
		cmd.Path = "/ingest" // resolved inside the chroot, not on the host's PATH
		cmd.Dir = "/"
		cmd.Env = env
		cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root, Credential: &syscall.Credential{Uid: User, Gid: User}}
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatalf("start /ingest in chroot: %v", err)
		}
		return cmd.ProcessState.ExitCode(), string(out)
	}
	env := []string{"LOGARCHIVE_OPS_ADDR=:" + port} // as the task definition sets it
	if code, out := ingest(env, "healthcheck"); code != 0 {
		t.Fatalf("healthcheck in the empty root: exit %d: %s", code, out)
	}
	sick.Store(true)
	if code, out := ingest(env, "healthcheck"); code != 1 || !strings.Contains(out, "ledger unreachable") {
		t.Fatalf("failing healthcheck in the empty root: exit %d: %s", code, out)
	}

	data := filepath.Join(root, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		t.Fatal(err)
	}
	opts := synth.DefaultOptions(7)
	opts.Hours, opts.EventsPerHour, opts.FlowRecordsPerHour, opts.ResolverQueriesPerHour = 1, 20, 5, 5
	man, err := synth.Generate(context.Background(), store.NewLocal(filepath.Join(data, "archive")), opts)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := synth.MarshalPublicKeys(man.PublicKeys)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "keys.json"), keys, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := filepath.Walk(data, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Chown(p, User, User)
	}); err != nil {
		t.Fatal(err)
	}
	code, out := ingest(nil, "local", "--src", "/data/archive", "--dest", "/data/lake", "--public-keys", "/data/keys.json", "--log-level", "warn")
	if code != 0 {
		t.Fatalf("ingest local in the empty root: exit %d: %s", code, out)
	}
	var parquet int
	filepath.Walk(filepath.Join(data, "lake"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && strings.HasSuffix(p, ".parquet") && fi.Size() > 0 {
			parquet++
		}
		return nil
	})
	if parquet == 0 || !strings.Contains(out, "cloudtrail") {
		t.Fatalf("ingest local in the empty root wrote %d Parquet files; output:\n%s", parquet, out)
	}
}
