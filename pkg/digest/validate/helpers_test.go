package validate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/logarchive/logarchive/pkg/store"
)

func openAppend(path string) (*os.File, error) { return os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0) }

func removeFile(t *testing.T, p string) {
	t.Helper()
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
}

func readAll(st store.Store, bucket, key string) ([]byte, map[string]string) {
	r, info, err := st.Get(context.Background(), bucket, key)
	if err != nil {
		panic(err)
	}
	defer r.Close()
	b, _ := io.ReadAll(r)
	return b, info.Metadata
}

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// localPath is the file that holds bucket/key in a mirror, for keys a directory holds verbatim.
func localPath(st *store.Local, bucket, key string) string {
	return filepath.Join(st.Root(), bucket, filepath.FromSlash(key))
}
