package filter

import "strings"

// glob is a pattern value in which every '*' matches any run of characters (spec §4.5 [DEC]).
// Matching is greedy-leftmost over the literal segments, which is exact for '*'-only globs and runs in
// time linear in the text (no backtracking): each segment is searched once, after the previous one.
type glob struct {
	segs []string // the text split at '*'; len(segs) ≥ 2
}

func newGlob(s string) *glob { return &glob{segs: strings.Split(s, "*")} }

func (g *glob) match(s string) bool {
	first, last := g.segs[0], g.segs[len(g.segs)-1]
	if len(s) < len(first)+len(last) || !strings.HasPrefix(s, first) || !strings.HasSuffix(s, last) {
		return false
	}
	s = s[len(first) : len(s)-len(last)]
	for _, seg := range g.segs[1 : len(g.segs)-1] {
		if seg == "" {
			continue
		}
		i := strings.Index(s, seg)
		if i < 0 {
			return false
		}
		s = s[i+len(seg):]
	}
	return true
}

// matchAll reports whether the glob is only stars, which matches any string.
func (g *glob) matchAll() bool {
	for _, s := range g.segs {
		if s != "" {
			return false
		}
	}
	return true
}
