package filter

import (
	"errors"
	"testing"
)

func TestSelection(t *testing.T) {
	prod := SystemFields{Account: "111111111111", Region: "eu-west-1"}
	dev := SystemFields{Account: "222222222222", Region: "us-east-1"}
	cases := []struct {
		criteria  string
		prod, dev bool
	}{
		{``, true, true},
		{`@aws.account = "111111111111"`, true, false},
		{`@aws.account != "111111111111"`, false, true},
		{`@aws.account IN ["111111111111", "333333333333"]`, true, false},
		{`@aws.account NOT IN ["111111111111"]`, false, true},
		{`@aws.region = "us-east-1" OR @aws.account = "111111111111"`, true, true},
		{`@aws.region = "us-east-1" AND @aws.account = "111111111111"`, false, false},
		{`@aws.region = "x" OR @aws.region = "eu-west-1" AND @aws.account = "111111111111"`, true, false},
		{`(@aws.region = "x" OR @aws.region = "us-east-1") and @aws.account in ["222222222222"]`, false, true},
	}
	for _, c := range cases {
		s, err := CompileSelection(c.criteria)
		if err != nil {
			t.Errorf("%s: %v", c.criteria, err)
			continue
		}
		if s.Selects(prod) != c.prod || s.Selects(dev) != c.dev {
			t.Errorf("%s: prod %v dev %v, want %v %v", c.criteria, s.Selects(prod), s.Selects(dev), c.prod, c.dev)
		}
	}
	for _, bad := range []string{
		`@aws.account = 111`, `@aws.partition = "aws"`, `@aws.account IN "1"`, `@aws.account IN ["1"`,
		`@aws.account == "1"`, `(@aws.account = "1"`, `@aws.account = "1" XOR @aws.region = "x"`, `@aws.accountx = "1"`,
	} {
		_, err := CompileSelection(bad)
		var fe *Error
		if !errors.As(err, &fe) {
			t.Errorf("%s: err %v, want *Error", bad, err)
		}
	}
}
