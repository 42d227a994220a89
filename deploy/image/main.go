// Command image builds the logarchive container image as an OCI image layout in a tar file, without
// a Docker daemon: it cross-compiles static binaries of ingest and validate for each platform and
// writes one single-layer image per platform under one index (a multi-platform image).
//
//	go run ./deploy/image --out bin/logarchive.oci.tar --platforms linux/amd64,linux/arm64
//
// The image is what the Dockerfile builds: /ingest (the entrypoint), /validate, the CA bundle, an
// /etc/passwd naming the non-root user 65532, nothing else. Push it with any OCI tool, e.g.
// `skopeo copy --all oci-archive:bin/logarchive.oci.tar docker://<registry>/logarchive:<tag>`.
// The build is reproducible: file times and the image's creation time come from SOURCE_DATE_EPOCH
// (0 when unset), so the same sources give the same digests.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("image", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "bin/logarchive.oci.tar", "OCI image layout tarball to write")
	platforms := fs.String("platforms", "linux/amd64,linux/arm64", "comma-separated os/arch list")
	caBundle := fs.String("ca-bundle", "/etc/ssl/certs/ca-certificates.crt", "PEM CA bundle copied into the image (Debian: package ca-certificates)")
	ref := fs.String("tag", "latest", "reference name recorded in the index (org.opencontainers.image.ref.name)")
	workDir := fs.String("work", "", "directory for the compiled binaries (default: a temporary directory)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fail := func(code int, err error) int {
		fmt.Fprintln(stderr, "image:", err)
		return code
	}
	var plats []Platform
	for _, p := range strings.Split(*platforms, ",") {
		pl, err := ParsePlatform(strings.TrimSpace(p))
		if err != nil {
			return fail(2, err)
		}
		plats = append(plats, pl)
	}
	epoch, err := sourceDateEpoch()
	if err != nil {
		return fail(2, err)
	}
	ca, err := os.ReadFile(*caBundle)
	if err != nil {
		return fail(1, fmt.Errorf("read the CA bundle (install ca-certificates or pass --ca-bundle): %w", err))
	}
	dir := *workDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "logarchive-image-"); err != nil {
			return fail(1, err)
		}
		defer os.RemoveAll(dir)
	}
	var images []Image
	for _, pl := range plats {
		bins, err := BuildBinaries(ctx, pl, dir, stderr)
		if err != nil {
			return fail(1, err)
		}
		images = append(images, Image{Platform: pl, Files: RootFiles(bins, ca)})
	}
	if err := WriteFile(*out, images, Options{Created: epoch, RefName: *ref}); err != nil {
		return fail(1, err)
	}
	fmt.Fprintf(stdout, "image: wrote %s (%s)\n", *out, *platforms)
	return 0
}

// sourceDateEpoch follows reproducible-builds.org: SOURCE_DATE_EPOCH, else the Unix epoch.
func sourceDateEpoch() (time.Time, error) {
	v := os.Getenv("SOURCE_DATE_EPOCH")
	if v == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, errors.New("SOURCE_DATE_EPOCH must be a non-negative integer of seconds")
	}
	return time.Unix(n, 0).UTC(), nil
}
