package filter

import "sync"

// Set evaluates several patterns on the same message and scans a JSON message once for all of its
// JSON patterns: their selectors share one trie, so the cost of N rules on a record is one pass plus
// N cheap expression evaluations, not N passes. The scan happens on the first JSON query only, so
// a record none of whose JSON rules is queried is never scanned. A Set is safe for concurrent use.
type Set struct {
	patterns []*Pattern
	root     *node
	nsels    int
	remap    [][]int // per pattern: its selector ids → the set's slot ids
	pool     sync.Pool
}

// NewSet prepares patterns for evaluation together; Eval.Match(i) refers to patterns[i].
func NewSet(patterns []*Pattern) *Set {
	s := &Set{patterns: patterns, remap: make([][]int, len(patterns))}
	var all []*selector
	index := map[string]int{}
	for i, p := range patterns {
		if p.kind != KindJSON {
			continue
		}
		m := make([]int, len(p.json.sels))
		for j, sel := range p.json.sels {
			key := sel.canonical()
			id, ok := index[key]
			if !ok {
				id = len(all)
				all = append(all, sel)
				index[key] = id
			}
			m[j] = id
		}
		s.remap[i] = m
	}
	s.nsels = len(all)
	s.root = buildTrie(all)
	return s
}

// Eval is one message being evaluated against a Set. It is not safe for concurrent use; Release it
// when done.
type Eval struct {
	set     *Set
	msg     []byte
	js      jsonState
	scanned bool
	valid   bool
	space   evalState
}

// Begin starts evaluating msg.
func (s *Set) Begin(msg []byte) *Eval {
	e, _ := s.pool.Get().(*Eval)
	if e == nil {
		e = &Eval{set: s}
		e.js.slots = make([]slot, s.nsels)
	}
	e.msg, e.scanned, e.valid = msg, false, false
	return e
}

// Match reports whether the message matches pattern i of the set.
func (e *Eval) Match(i int) bool {
	p := e.set.patterns[i]
	if p.kind != KindJSON {
		if p.kind == KindSpace {
			return p.matchState(&e.space, e.msg)
		}
		return p.Match(e.msg)
	}
	if !e.scanned {
		e.scanned = true
		e.valid = e.js.resolve(e.set.root, e.msg)
	}
	if !e.valid {
		return false
	}
	e.js.remap = e.set.remap[i]
	ok := p.json.expr.eval(&e.js)
	e.js.remap = nil
	return ok
}

// Release returns the Eval to its set's pool; it must not be used afterwards.
func (e *Eval) Release() {
	e.msg, e.js.data = nil, nil
	e.set.pool.Put(e)
}
