package validate

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/logarchive/logarchive/pkg/digest"
)

// TextWriter renders results exactly as `aws cloudtrail validate-logs` prints them: tab-separated
// lines, errors on stderr framed by blank lines, "valid" lines on stdout only when verbose, then the
// summary on stdout. Lines aws-cli never prints (unreadable files, warnings, gaps it cannot see) use
// the same framing and are listed in docs/validate.md.
type TextWriter struct {
	Stdout, Stderr io.Writer
	Verbose        bool
	doubleSpaced   bool
}

// Escape makes an untrusted value (a key, a bucket, a fingerprint, a message quoting them) safe to
// print on one line: backslash, control characters (C0, DEL, C1), line and paragraph separators,
// bidirectional overrides and bytes that are not UTF-8 become Go-style escapes, so a planted key can
// neither add lines nor disguise itself. Values without such characters are returned unchanged.
func Escape(s string) string {
	clean := true
	for _, r := range s {
		if needsEscape(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x80 && needsEscape(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case needsEscape(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func needsEscape(r rune) bool {
	return r < 0x20 || r == '\\' || r >= 0x7f && r <= 0x9f || r == 0x2028 || r == 0x2029 ||
		r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 || r == 0xfeff || r == utf8.RuneError
}

// NewTextWriter returns a writer in aws-cli's initial state.
func NewTextWriter(stdout, stderr io.Writer, verbose bool) *TextWriter {
	return &TextWriter{Stdout: stdout, Stderr: stderr, Verbose: verbose, doubleSpaced: true}
}

// errLine and okLine take lines whose untrusted parts are already escaped.
func (w *TextWriter) errLine(msg string) {
	if w.doubleSpaced {
		fmt.Fprintf(w.Stderr, "%s\n\n", msg)
	} else {
		fmt.Fprintf(w.Stderr, "\n%s\n\n", msg)
	}
	w.doubleSpaced = true
}

func (w *TextWriter) okLine(msg string) {
	if w.Verbose {
		w.doubleSpaced = false
		fmt.Fprintf(w.Stdout, "%s\n", msg)
	}
}

// Startup prints aws-cli's first line; subject is the trail ARN (or a chain description).
func (w *TextWriter) Startup(subject string, r Interval) {
	fmt.Fprintf(w.Stdout, "Validating log files for trail %s between %s and %s\n\n", Escape(subject),
		digest.DisplayTime(r.From), digest.DisplayTime(r.To))
}

// Fatal prints an error that aborted validation, as aws-cli prints exceptions.
func (w *TextWriter) Fatal(msg string) {
	fmt.Fprintf(w.Stderr, "\n%s\n", Escape(msg))
}

// Events prints a chain's digest, log and gap lines.
func (w *TextWriter) Events(res *ChainResult) {
	for _, ev := range res.Events {
		pre := ""
		if ev.Backfill {
			pre = "(backfill) "
		}
		if ev.Restart != nil {
			w.errLine(fmt.Sprintf("%sNo log files were delivered by CloudTrail between %s and %s", pre,
				digest.DisplayTime(ev.Restart.From), digest.DisplayTime(ev.Restart.To)))
			continue
		}
		d := ev.Digest
		loc := fmt.Sprintf("%sDigest file\ts3://%s/%s\t", pre, Escape(d.Bucket), Escape(d.Key))
		switch {
		case d.Class.Unreadable():
			w.errLine(loc + "ERROR: " + Escape(d.Reason))
		case d.Class != digest.ClassValid:
			w.errLine(loc + "INVALID: " + Escape(d.Reason))
		case d.Failed():
			for _, f := range d.Findings {
				if f.Severity == digest.SeverityError {
					w.errLine(loc + "INVALID: " + Escape(f.Message))
				}
			}
		default:
			w.okLine(loc + "valid")
		}
		if w.Verbose {
			for _, f := range d.Findings {
				if f.Severity == digest.SeverityWarning {
					w.errLine(loc + "WARNING: " + Escape(string(f.Class)) + ": " + Escape(f.Message))
				}
			}
		}
		for _, l := range d.Logs {
			loc := fmt.Sprintf("Log file\ts3://%s/%s\t", Escape(l.Bucket), Escape(l.Key))
			switch {
			case l.Class == digest.ClassValid:
				w.okLine(loc + "valid")
			case l.Class.Unreadable():
				w.errLine(loc + "ERROR: " + Escape(l.Reason))
			default:
				w.errLine(loc + "INVALID: " + Escape(l.Reason))
			}
		}
	}
	for _, g := range res.Gaps {
		switch {
		case g.Reason == GapMissingDigests && g.Missing > 1:
			w.errLine(fmt.Sprintf("Gap\t%s\t%s\tmissing_digests: about %d consecutive digests missing", digest.DisplayTime(g.From),
				digest.DisplayTime(g.To), g.Missing))
		case g.Reason == GapNoRecentDigest:
			w.errLine(fmt.Sprintf("Gap\t%s\t%s\tno_recent_digest: no digest ends after %s", digest.DisplayTime(g.From),
				digest.DisplayTime(g.To), digest.DisplayTime(g.From)))
		}
	}
}

// Summary prints aws-cli's summary for counts c over requested range r.
func (w *TextWriter) Summary(r Interval, found *Interval, c Counts) {
	if !w.doubleSpaced {
		fmt.Fprint(w.Stdout, "\n")
	}
	fmt.Fprintf(w.Stdout, "Results requested for %s to %s\n", digest.DisplayTime(r.From), digest.DisplayTime(r.To))
	if c.ValidDigests+c.InvalidDigests+c.ValidBackfillDigests+c.InvalidBackfillDigests+c.UnreadableDigests == 0 {
		fmt.Fprint(w.Stdout, "No digests found\n")
		return
	}
	if found == nil {
		fmt.Fprint(w.Stdout, "No valid digests found in range\n")
	} else {
		fmt.Fprintf(w.Stdout, "Results found for %s to %s:\n", digest.DisplayTime(found.From), digest.DisplayTime(found.To))
	}
	w.ratio(c.ValidDigests, c.InvalidDigests, c.UnreadableDigests, "digest")
	w.ratio(c.ValidBackfillDigests, c.InvalidBackfillDigests, 0, "backfill digest")
	w.ratio(c.ValidLogs, c.InvalidLogs, c.UnreadableLogs, "log")
	fmt.Fprint(w.Stdout, "\n")
}

func (w *TextWriter) ratio(valid, invalid, unreadable int, name string) {
	total := valid + invalid + unreadable
	if total == 0 {
		return
	}
	fmt.Fprintf(w.Stdout, "\n%d/%d %s files valid", valid, total, name)
	if invalid > 0 {
		fmt.Fprintf(w.Stdout, ", %d/%d %s files INVALID", invalid, total, name)
	}
	if unreadable > 0 {
		fmt.Fprintf(w.Stdout, ", %d/%d %s files UNREADABLE", unreadable, total, name)
	}
}

// Chain prints one chain completely: startup line, events (or the fatal error) and summary.
func (w *TextWriter) Chain(subject string, res *ChainResult) {
	w.Startup(subject, res.Requested)
	if res.Fatal != "" {
		w.Fatal(res.Fatal)
		return
	}
	w.Events(res)
	w.Summary(res.Requested, res.Found, res.Counts)
}
