package digest

import (
	"bytes"
	stdgzip "compress/gzip"
	"crypto/sha256"
	"io"
	"strings"
	"testing"
)

// BenchmarkHashLog compares the pooled streaming hasher with the plain standard-library pipeline
// (compress/gzip + sha256, fresh reader per file) over the same ~100 KB log file.
func BenchmarkHashLog(b *testing.B) {
	content := []byte(`{"Records":[` + strings.Repeat(`{"eventVersion":"1.08","eventSource":"iam.amazonaws.com","eventName":"ListRoles","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7"},`, 800) + `{}]}`)
	body := gzipBytes(content)
	b.Run("hasher", func(b *testing.B) {
		var h Hasher
		b.SetBytes(int64(len(content)))
		b.ReportAllocs()
		for range b.N {
			if _, _, _, err := h.Hash(bytes.NewReader(body)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("baseline-stdlib", func(b *testing.B) {
		b.SetBytes(int64(len(content)))
		b.ReportAllocs()
		for range b.N {
			zr, err := stdgzip.NewReader(bytes.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			h := sha256.New()
			if _, err := io.Copy(h, zr); err != nil {
				b.Fatal(err)
			}
			h.Sum(nil)
		}
	})
}
