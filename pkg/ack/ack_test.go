package ack

import "testing"

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
