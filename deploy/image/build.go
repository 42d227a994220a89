package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Platform is an image platform; only linux images are built.
type Platform struct{ OS, Arch string }

func (p Platform) String() string { return p.OS + "/" + p.Arch }

// ParsePlatform reads "linux/amd64" or "linux/arm64".
func ParsePlatform(s string) (Platform, error) {
	osName, arch, ok := strings.Cut(s, "/")
	if !ok || osName != "linux" || (arch != "amd64" && arch != "arm64") {
		return Platform{}, fmt.Errorf("platform %q: want linux/amd64 or linux/arm64", s)
	}
	return Platform{osName, arch}, nil
}

// Commands are the binaries the image holds, as /<name>; the first is the entrypoint.
var Commands = []string{"ingest", "validate"}

// BuildFlags are the go build flags of the image's binaries, the same as the Dockerfile's: no cgo
// (a static binary that needs no libc in a scratch image), no local paths, no symbol tables.
var BuildFlags = []string{"-trimpath", "-ldflags=-s -w"}

// BuildBinaries compiles Commands for p into dir/<os>_<arch>/ and returns their paths by name.
// It runs from the module root, found through `go env GOMOD`, so it works from any directory
// inside the module.
func BuildBinaries(ctx context.Context, p Platform, dir string, stderr io.Writer) (map[string]string, error) {
	root, err := moduleRoot(ctx)
	if err != nil {
		return nil, err
	}
	outDir := filepath.Join(dir, p.OS+"_"+p.Arch)
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, err
	}
	args := append([]string{"build"}, BuildFlags...)
	args = append(args, "-o", outDir+string(filepath.Separator))
	for _, c := range Commands {
		args = append(args, "./cmd/"+c)
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+p.OS, "GOARCH="+p.Arch)
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go build for %s: %w", p, err)
	}
	bins := map[string]string{}
	for _, c := range Commands {
		bins[c] = filepath.Join(outDir, c)
	}
	return bins, nil
}

func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := string(bytes.TrimSpace(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside the logarchive module (go env GOMOD is %q)", mod)
	}
	return filepath.Dir(mod), nil
}

// User is the image's non-root user, the uid distroless calls "nonroot".
const User = 65532

// File is one regular file of the image's root file system.
type File struct {
	Path string // relative to /, no leading slash
	Mode int64
	Data []byte // or, when nil, the contents of Src
	Src  string
}

// RootFiles lists the image's files: the binaries, the CA bundle (where Go's crypto/x509 looks
// first on Linux) and passwd/group entries so the user has a name and a home for tools that ask.
func RootFiles(bins map[string]string, caBundle []byte) []File {
	files := []File{
		{Path: "etc/group", Mode: 0o644, Data: []byte(fmt.Sprintf("root:x:0:\nnonroot:x:%d:\n", User))},
		{Path: "etc/passwd", Mode: 0o644, Data: []byte(fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:/home/nonroot:/sbin/nologin\n", User, User))},
		{Path: "etc/ssl/certs/ca-certificates.crt", Mode: 0o644, Data: caBundle},
	}
	for _, c := range Commands {
		files = append(files, File{Path: c, Mode: 0o755, Src: bins[c]})
	}
	return files
}
