package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"time"
)

// OCI media types (image-spec v1.1).
const (
	MediaIndex    = "application/vnd.oci.image.index.v1+json"
	MediaManifest = "application/vnd.oci.image.manifest.v1+json"
	MediaConfig   = "application/vnd.oci.image.config.v1+json"
	MediaLayer    = "application/vnd.oci.image.layer.v1.tar+gzip"
)

// Image is one platform's image: a single layer holding Files.
type Image struct {
	Platform Platform
	Files    []File
}

// Options are the layout-wide settings.
type Options struct {
	Created time.Time // file times and the config's created time
	RefName string    // org.opencontainers.image.ref.name of every manifest in the index
}

// Descriptor is an OCI content descriptor.
type Descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Platform    *PlatformJSON     `json:"platform,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// PlatformJSON is a descriptor's platform.
type PlatformJSON struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
}

// Index is the image index (index.json).
type Index struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	Manifests     []Descriptor `json:"manifests"`
}

// Manifest is an image manifest.
type Manifest struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	Config        Descriptor   `json:"config"`
	Layers        []Descriptor `json:"layers"`
}

// Config is the image configuration: what a runtime needs to start the container.
type Config struct {
	Created      string       `json:"created"`
	Architecture string       `json:"architecture"`
	OS           string       `json:"os"`
	Config       RunConfig    `json:"config"`
	RootFS       RootFS       `json:"rootfs"`
	History      []HistoryRec `json:"history"`
}

// RunConfig is the config's execution parameters.
type RunConfig struct {
	User         string              `json:"User"`
	Entrypoint   []string            `json:"Entrypoint"`
	Cmd          []string            `json:"Cmd"`
	Env          []string            `json:"Env"`
	WorkingDir   string              `json:"WorkingDir"`
	ExposedPorts map[string]struct{} `json:"ExposedPorts,omitempty"`
	Labels       map[string]string   `json:"Labels,omitempty"`
}

// RootFS lists the uncompressed layer digests.
type RootFS struct {
	Type    string   `json:"type"`
	DiffIDs []string `json:"diff_ids"`
}

// HistoryRec is one history entry.
type HistoryRec struct {
	Created   string `json:"created"`
	CreatedBy string `json:"created_by"`
}

// RunConfigFor is the container configuration of the image, shared by every platform and kept
// equal to the Dockerfile's USER/ENTRYPOINT/CMD/ENV/EXPOSE.
func RunConfigFor() RunConfig {
	return RunConfig{
		User:       strconv.Itoa(User) + ":" + strconv.Itoa(User),
		Entrypoint: []string{"/" + Commands[0]},
		Cmd:        []string{"run"},
		// No PATH: there is no shell; SSL_CERT_FILE pins the bundle for any TLS stack.
		Env:          []string{"SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"},
		WorkingDir:   "/",
		ExposedPorts: map[string]struct{}{"9090/tcp": {}},
		Labels: map[string]string{
			"org.opencontainers.image.title":  "logarchive",
			"org.opencontainers.image.source": "https://github.com/logarchive/logarchive",
		},
	}
}

// blobs collects content-addressed blobs in the order written.
type blobs struct {
	order []string
	data  map[string][]byte
}

func (b *blobs) add(mediaType string, data []byte) Descriptor {
	sum := sha256.Sum256(data)
	d := "sha256:" + hex.EncodeToString(sum[:])
	if b.data == nil {
		b.data = map[string][]byte{}
	}
	if _, ok := b.data[d]; !ok {
		b.order = append(b.order, d)
		b.data[d] = data
	}
	return Descriptor{MediaType: mediaType, Digest: d, Size: int64(len(data))}
}

// layer returns the layer as an uncompressed tar and gzipped.
func layer(files []File, mtime time.Time) (raw, gz []byte, err error) {
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	dirs := map[string]bool{}
	sorted := append([]File(nil), files...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Path < sorted[j].Path })
	for _, f := range sorted {
		// Parent directories first, each once, as image builders write them.
		var parents []string
		for d := path.Dir(f.Path); d != "." && !dirs[d]; d = path.Dir(d) {
			parents = append([]string{d}, parents...)
		}
		for _, d := range parents {
			dirs[d] = true
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755, ModTime: mtime, Format: tar.FormatPAX}); err != nil {
				return nil, nil, err
			}
		}
		data := f.Data
		if data == nil {
			if data, err = os.ReadFile(f.Src); err != nil {
				return nil, nil, fmt.Errorf("layer file /%s: %w", f.Path, err)
			}
		}
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: f.Path, Mode: f.Mode, Size: int64(len(data)), ModTime: mtime, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, nil, err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, nil, err
	}
	var gb bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gb, gzip.DefaultCompression)
	if _, err := zw.Write(tb.Bytes()); err != nil {
		return nil, nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, nil, err
	}
	return tb.Bytes(), gb.Bytes(), nil
}

// Write writes the OCI image layout of images, as a tar stream, to w.
func Write(w io.Writer, images []Image, opts Options) error {
	var b blobs
	created := opts.Created.UTC().Format(time.RFC3339)
	platforms := Index{SchemaVersion: 2, MediaType: MediaIndex}
	for _, im := range images {
		raw, gz, err := layer(im.Files, opts.Created)
		if err != nil {
			return fmt.Errorf("%s layer: %w", im.Platform, err)
		}
		diff := sha256.Sum256(raw)
		layerDesc := b.add(MediaLayer, gz)
		cfg := Config{
			Created: created, Architecture: im.Platform.Arch, OS: im.Platform.OS,
			Config:  RunConfigFor(),
			RootFS:  RootFS{Type: "layers", DiffIDs: []string{"sha256:" + hex.EncodeToString(diff[:])}},
			History: []HistoryRec{{Created: created, CreatedBy: "logarchive deploy/image (static ingest and validate, CA bundle, user 65532)"}},
		}
		cj, err := json.Marshal(cfg)
		if err != nil {
			return err
		}
		mj, err := json.Marshal(Manifest{SchemaVersion: 2, MediaType: MediaManifest, Config: b.add(MediaConfig, cj), Layers: []Descriptor{layerDesc}})
		if err != nil {
			return err
		}
		md := b.add(MediaManifest, mj)
		md.Platform = &PlatformJSON{Architecture: im.Platform.Arch, OS: im.Platform.OS}
		platforms.Manifests = append(platforms.Manifests, md)
	}
	// index.json names one image, the multi-platform index, as registries and tools (skopeo copy
	// --all, crane, docker load) expect; the platform manifests are listed inside it.
	pj, err := json.Marshal(platforms)
	if err != nil {
		return err
	}
	top := b.add(MediaIndex, pj)
	if opts.RefName != "" {
		top.Annotations = map[string]string{"org.opencontainers.image.ref.name": opts.RefName}
	}
	ij, err := json.Marshal(Index{SchemaVersion: 2, MediaType: MediaIndex, Manifests: []Descriptor{top}})
	if err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	put := func(name string, data []byte, dir bool) error {
		h := &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: opts.Created, Format: tar.FormatPAX}
		if dir {
			h = &tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: 0o755, ModTime: opts.Created, Format: tar.FormatPAX}
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	if err := put("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`), false); err != nil {
		return err
	}
	if err := put("index.json", ij, false); err != nil {
		return err
	}
	for _, d := range []string{"blobs/", "blobs/sha256/"} {
		if err := put(d, nil, true); err != nil {
			return err
		}
	}
	for _, d := range b.order {
		if err := put("blobs/sha256/"+d[len("sha256:"):], b.data[d], false); err != nil {
			return err
		}
	}
	return tw.Close()
}

// WriteFile writes the layout tarball to path atomically (a temporary file renamed into place).
func WriteFile(p string, images []Image, opts Options) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".image-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := Write(f, images, opts); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", p, err)
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), p)
}
