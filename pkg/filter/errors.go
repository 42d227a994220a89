package filter

import "fmt"

// ErrorKind classifies why a pattern or a metric transformation was rejected, so callers can branch
// with errors.As instead of matching message text.
type ErrorKind uint8

const (
	// ErrSyntax: the pattern does not follow the grammar (AWS: "Invalid metric filter pattern").
	ErrSyntax ErrorKind = iota + 1
	// ErrInvalidChar: a character that is not allowed where it stands (AWS: "Invalid character(s) in term '…'").
	ErrInvalidChar
	// ErrRegex: a %regex% that breaks AWS's whitelist or does not compile.
	ErrRegex
	// ErrLimit: a quota is exceeded (pattern length, regexes, wildcards, dimensions…).
	ErrLimit
	// ErrTransformation: a metric transformation that PutMetricFilter would refuse.
	ErrTransformation
)

func (k ErrorKind) String() string {
	switch k {
	case ErrSyntax:
		return "syntax"
	case ErrInvalidChar:
		return "invalid character"
	case ErrRegex:
		return "regex"
	case ErrLimit:
		return "limit"
	case ErrTransformation:
		return "transformation"
	}
	return "unknown"
}

// Error is a rejected filter pattern (or metric transformation). Msg mirrors the message CloudWatch
// Logs returns where one was observed; Pos is the byte offset in the pattern where the problem was
// found (-1 when it concerns the whole pattern).
type Error struct {
	Kind    ErrorKind
	Pos     int
	Msg     string
	Pattern string
}

func (e *Error) Error() string {
	if e.Pos >= 0 {
		return fmt.Sprintf("invalid filter pattern at offset %d: %s", e.Pos, e.Msg)
	}
	return "invalid filter pattern: " + e.Msg
}

func errAt(kind ErrorKind, pos int, format string, args ...any) *Error {
	return &Error{Kind: kind, Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
