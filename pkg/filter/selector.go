package filter

import (
	"strconv"
	"strings"
)

// stepKind is one step of a JSON selector.
type stepKind uint8

const (
	stepName  stepKind = iota // .name or .['key']
	stepIndex                 // [n]
	stepWild                  // [*] or .*
)

type step struct {
	kind  stepKind
	name  string
	index int
}

// selector is a compiled JSON selector such as $.userIdentity.arn or $.a[*].b.
type selector struct {
	text  string
	steps []step
	wild  int // index of the wildcard step, -1 if none
}

func (s *selector) canonical() string {
	var b strings.Builder
	b.WriteByte('$')
	for _, st := range s.steps {
		switch st.kind {
		case stepName:
			b.WriteString(".['")
			b.WriteString(st.name)
			b.WriteString("']")
		case stepIndex:
			b.WriteString("[" + strconv.Itoa(st.index) + "]")
		case stepWild:
			b.WriteString("[*]")
		}
	}
	return b.String()
}

func isNameChar(c byte) bool {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || isDigit(c) || c == '_' || c == '-'
}

// parseSelector reads a selector at s[i] (which is '$'); it returns the selector and the offset just
// past it. base is the offset of s within the pattern, for error positions.
func parseSelector(s string, i int) (*selector, int, error) {
	start := i
	i++ // '$'
	sel := &selector{wild: -1}
	for i < len(s) {
		c := s[i]
		if c == '.' {
			i++
			if i < len(s) && s[i] == '*' {
				sel.steps = append(sel.steps, step{kind: stepWild})
				i++
				continue
			}
			if i < len(s) && s[i] == '[' {
				if i+1 >= len(s) || s[i+1] != '\'' {
					return nil, i, errAt(ErrInvalidChar, i, "Invalid character(s) in term '%s': bracket keys must be single-quoted", clip(s[start:], 40))
				}
				end := strings.IndexByte(s[i+2:], '\'')
				if end < 0 || i+2+end+1 >= len(s) || s[i+2+end+1] != ']' {
					return nil, i, errAt(ErrSyntax, i, "Invalid metric filter pattern: unterminated bracket key in selector")
				}
				sel.steps = append(sel.steps, step{kind: stepName, name: s[i+2 : i+2+end]})
				i = i + 2 + end + 2
				continue
			}
			ns := i
			for i < len(s) && isNameChar(s[i]) {
				i++
			}
			if i == ns {
				return nil, i, errAt(ErrInvalidChar, ns, "Invalid character(s) in term '%s'", clip(s[start:], 40))
			}
			sel.steps = append(sel.steps, step{kind: stepName, name: s[ns:i]})
			continue
		}
		if c == '[' {
			if len(sel.steps) == 0 {
				return nil, i, errAt(ErrInvalidChar, i, "Invalid character(s) in term '%s': a selector must begin with $.", clip(s[start:], 40))
			}
			end := strings.IndexByte(s[i:], ']')
			if end < 0 {
				return nil, i, errAt(ErrSyntax, i, "Invalid metric filter pattern: unterminated index in selector")
			}
			in := s[i+1 : i+end]
			switch {
			case in == "*":
				sel.steps = append(sel.steps, step{kind: stepWild})
			case allDigits(in) && len(in) <= 9:
				n, _ := strconv.Atoi(in)
				sel.steps = append(sel.steps, step{kind: stepIndex, index: n})
			default:
				return nil, i, errAt(ErrInvalidChar, i, "Invalid character(s) in term '%s': array index must be a non-negative integer or *", clip(s[start:], 40))
			}
			i += end + 1
			continue
		}
		break
	}
	if len(sel.steps) == 0 {
		return nil, i, errAt(ErrInvalidChar, start, "Invalid character(s) in term '$': a selector must begin with $.")
	}
	for k, st := range sel.steps {
		if st.kind == stepWild {
			if sel.wild >= 0 {
				return nil, i, errAt(ErrLimit, start, "Your filter pattern has a JSON path selector that exceeds the maximum of 1 wildcard allowed per json selector.")
			}
			sel.wild = k
		}
	}
	sel.text = s[start:i]
	return sel, i, nil
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// node is a trie over the selectors of one pattern, so a single pass over the message resolves them
// all: the scanner only descends into members that some selector names.
type node struct {
	names map[string]*node
	// small holds names when there are few: comparing a handful of lengths and bytes beats hashing
	// every key of every scanned object.
	small []namedChild
	// byLen buckets names by length when there are many (an org trail rule set names some twenty
	// top-level CloudTrail fields): a key is compared with the few names of its length only.
	byLen [][]namedChild
	index map[int]*node
	wild  *node
	// ends lists selector ids that end at this node; parents lists wildcard selector ids whose
	// wildcard step is this node's wild child (this node is P in spec §4.7).
	ends    []int
	parents []int
	// wildEnd marks nodes below a wildcard, so their values are appended, not overwritten.
	wildEnd bool
}

type namedChild struct {
	name string
	n    *node
}

func (n *node) hasChildren() bool { return n.names != nil || n.index != nil || n.wild != nil }

// child returns the child for an object member's key, or nil.
func (n *node) child(key []byte) *node {
	if n.small != nil {
		for _, c := range n.small {
			if len(c.name) == len(key) && c.name == string(key) {
				return c.n
			}
		}
		return nil
	}
	if n.byLen != nil {
		if len(key) >= len(n.byLen) {
			return nil
		}
		for _, c := range n.byLen[len(key)] {
			if c.name == string(key) {
				return c.n
			}
		}
		return nil
	}
	if n.names != nil {
		return n.names[string(key)]
	}
	return nil
}

const smallNames = 8

// maxBucketedName bounds byLen's size; nodes with longer names keep the map.
const maxBucketedName = 128

func (n *node) finish() {
	if n.names != nil && len(n.names) <= smallNames {
		n.small = n.small[:0]
		for name, c := range n.names {
			n.small = append(n.small, namedChild{name, c})
		}
	} else if n.names != nil {
		longest := 0
		for name := range n.names {
			longest = max(longest, len(name))
		}
		if longest < maxBucketedName {
			n.byLen = make([][]namedChild, longest+1)
			for name, c := range n.names {
				n.byLen[len(name)] = append(n.byLen[len(name)], namedChild{name, c})
			}
		}
	}
	for _, c := range n.names {
		c.finish()
	}
	for _, c := range n.index {
		c.finish()
	}
	if n.wild != nil {
		n.wild.finish()
	}
}

func buildTrie(sels []*selector) *node {
	root := &node{}
	for id, sel := range sels {
		n := root
		below := false
		for k, st := range sel.steps {
			switch st.kind {
			case stepName:
				if n.names == nil {
					n.names = map[string]*node{}
				}
				c := n.names[st.name]
				if c == nil {
					c = &node{}
					n.names[st.name] = c
				}
				n = c
			case stepIndex:
				if n.index == nil {
					n.index = map[int]*node{}
				}
				c := n.index[st.index]
				if c == nil {
					c = &node{}
					n.index[st.index] = c
				}
				n = c
			case stepWild:
				_ = k
				n.parents = append(n.parents, id)
				if n.wild == nil {
					n.wild = &node{}
				}
				n = n.wild
				below = true
			}
			if below {
				n.wildEnd = true
			}
		}
		n.ends = append(n.ends, id)
	}
	root.finish()
	return root
}
