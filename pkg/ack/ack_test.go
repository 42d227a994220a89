package ack

import (
	"fmt"
	"testing"
)

func TestRefIDSeparatesFields(t *testing.T) {
	// A key that contains what would be the next field must not collide with a different object.
	a := Ref{Bucket: "b", Key: "k\x00e", ETag: "x"}
	b := Ref{Bucket: "b", Key: "k", ETag: "e\x00x"}
	if a.ID() == b.ID() {
		t.Fatalf("distinct refs share an ID: %q", a.ID())
	}
	if (Ref{Bucket: "b", Key: "k", ETag: `"e"`}).ID() != (Ref{Bucket: "b", Key: "k", ETag: "e"}).ID() {
		t.Fatal("quoted and unquoted ETags of the same object differ")
	}
}

// IDs name objects in what other processes and earlier runs wrote (sink file names hash them): the
// text stays what it was.
func TestRefIDText(t *testing.T) {
	for _, r := range []Ref{{}, {Bucket: "b", Key: "AWSLogs/1/x.json.gz", ETag: `"abc-2"`, VersionID: "v1"},
		{Bucket: "b", Key: "k\x00é", ETag: "e"}} {
		want := fmt.Sprintf("%s\x00%d:%s\x00%s\x00%s", r.Bucket, len(r.Key), r.Key, NormalizeETag(r.ETag), r.VersionID)
		if got := r.ID(); got != want {
			t.Errorf("%#v: ID %q, want %q", r, got, want)
		}
	}
}

func TestAcked(t *testing.T) {
	for _, c := range []struct {
		o    Outcome
		want bool
	}{{Ok("durable"), true}, {Quarantine("corrupt", nil), true}, {Again("transient", nil), false}} {
		if c.o.Acked() != c.want {
			t.Errorf("%v.Acked() = %v", c.o.Kind, !c.want)
		}
	}
}
