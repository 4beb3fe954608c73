package schema

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// assemble builds the JSON text from a decoded canvas; where records the
// output pointer of every slot that produced a value, bad the slots whose
// tokens are not a complete value (written as null, to be repaired).
func (s *Scaffold) assemble(gen []int32) (text string, where map[*slot]string, bad []*slot, err error) {
	where = map[*slot]string{}
	var sb strings.Builder
	var walk func(in *inst, ptr string) (bool, error)
	// value writes the slot's JSON text, or reports it empty.
	value := func(sl *slot) (string, bool, error) {
		if sl.choice {
			if sl.pick < 0 {
				return "", false, fmt.Errorf("schema: choice at %s not made", sl.path)
			}
			t := sl.altText[sl.pick]
			return t, t != "", nil
		}
		toks := gen[sl.start : sl.start+sl.width]
		n := len(toks)
		for n > 0 && toks[n-1] == s.v.pad {
			n--
		}
		if !sl.lang.complete(toks, sl.padOK) {
			if !slices.Contains(bad, sl) {
				bad = append(bad, sl)
			}
			return "null", true, nil
		}
		if n == 0 && sl.padOK {
			return "", false, nil
		}
		var body []byte
		for _, t := range toks[:n] {
			body = append(body, s.v.bytes[t]...)
		}
		if sl.node.Kind == String {
			return `"` + string(body) + `"`, true, nil
		}
		return string(body), true, nil
	}
	walk = func(in *inst, ptr string) (bool, error) {
		switch {
		case in.leaf != nil:
			t, ok, err := value(in.leaf)
			if err != nil {
				return false, err
			}
			if !ok {
				if in.leaf.optional {
					return false, nil
				}
				t = "null"
				if !in.leaf.choice && !in.leaf.node.Nullable {
					t = `""` // an empty string slot that may not be null
				}
			}
			where[in.leaf] = ptr
			sb.WriteString(t)
		case in.node.Kind == Union:
			if in.branch == nil {
				return false, fmt.Errorf("schema: union at %s not chosen", in.path)
			}
			return walk(in.branch, ptr)
		case in.node.Kind == Object:
			sb.WriteByte('{')
			n := 0
			names := map[string]bool{}
			for _, p := range in.props {
				if p.key == nil {
					names[p.name] = true
				}
			}
			for _, p := range in.props {
				name := p.name
				if p.key != nil {
					var ok bool
					if name, ok = s.entryKey(p, names, value, &bad); !ok {
						continue
					}
					where[p.key.leaf] = ptrJoin(ptr, name)
				}
				mark := sb.Len()
				if n > 0 {
					sb.WriteByte(',')
				}
				sb.WriteString(jsonQuote(name))
				sb.WriteByte(':')
				ok, err := walk(p.v, ptrJoin(ptr, name))
				if err != nil {
					return false, err
				}
				if !ok {
					cut := sb.String()[:mark]
					sb.Reset()
					sb.WriteString(cut)
					continue
				}
				n++
			}
			sb.WriteByte('}')
		case in.node.Kind == Array:
			sb.WriteByte('[')
			n := 0
			var seen []string // uniqueItems: items written so far
			for _, it := range in.items {
				if it.presence != nil {
					if _, ok, err := value(it.presence); err != nil {
						return false, err
					} else if !ok {
						continue
					}
				}
				mark := sb.Len()
				if n > 0 {
					sb.WriteByte(',')
				}
				from := sb.Len()
				if _, err := walk(it, ptr+"/"+strconv.Itoa(n)); err != nil {
					return false, err
				}
				if in.node.Unique {
					item := sb.String()[from:]
					if it.optItem && slices.Contains(seen, item) {
						// A repeated optional item is left out.
						cut := sb.String()[:mark]
						sb.Reset()
						sb.WriteString(cut)
						continue
					}
					seen = append(seen, item)
				}
				n++
			}
			sb.WriteByte(']')
		}
		return true, nil
	}
	if _, err := walk(s.root, ""); err != nil {
		return "", nil, nil, err
	}
	return sb.String(), where, bad, nil
}

// entryKey is a dynamic entry's key as decoded, and whether the entry is
// written: an optional entry with an empty key, or a key already taken (a
// listed property or an earlier entry), is left out; a required entry's
// taken or incomplete key is written and its slot added to bad, to be
// re-decoded.
func (s *Scaffold) entryKey(p instProp, names map[string]bool, value func(*slot) (string, bool, error), bad *[]*slot) (string, bool) {
	sl := p.key.leaf
	had := len(*bad)
	t, ok, err := value(sl)
	if p.optional {
		*bad = (*bad)[:had] // an incomplete optional key drops its entry
	}
	name := ""
	if err == nil && ok {
		if json.Unmarshal([]byte(t), &name) != nil {
			name, ok = "", false
		}
	}
	if sl.choice && names[name] && !p.optional {
		// A required entry whose chosen key is taken takes the first
		// alternative that is not (scored choices do not see each other).
		for j, a := range sl.altText {
			var alt string
			if a != "" && json.Unmarshal([]byte(a), &alt) == nil && !names[alt] {
				sl.pick, name = j, alt
				break
			}
		}
	}
	switch {
	case (err != nil || !ok || t == "null") && p.optional:
		return "", false
	case names[name] && p.optional:
		return "", false
	case err != nil || !ok || t == "null" || names[name]:
		if !slices.Contains(*bad, sl) {
			*bad = append(*bad, sl)
		}
	}
	names[name] = true
	return name, true
}
