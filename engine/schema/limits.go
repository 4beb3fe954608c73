package schema

// Limits on what a schema may cost. Compile checks each one before, or
// while, it allocates in proportion to it, and a schema over a limit gets a
// *CompileError naming the JSON pointer where the limit was hit. The
// largest schema of the corpus (testdata/schemas) is 2.8 KB, nests 10 JSON
// levels and scaffolds about 60 values: the limits leave room for schemas
// far larger than any extraction model can fill, and keep a hostile one to
// a few MiB and milliseconds.
const (
	// MaxSchemaBytes bounds the schema document, checked before parsing.
	// It is the file source's sidecar limit (connectors/files).
	MaxSchemaBytes = 1 << 20

	// MaxSchemaValues bounds the JSON values (objects, arrays, strings,
	// numbers, booleans, nulls) of the document, counted as it is parsed: a
	// 1 MiB array of zeros (half a million values) took 1.2 s and
	// allocated 258 MiB to compile without it.
	MaxSchemaValues = 1 << 16

	// MaxNumberDigits bounds each number of the document, counted as the
	// digits of its plain decimal expansion, checked before any arithmetic:
	// an enum holding 1e999999 took 0.8 s to compile, and every output
	// 75 ms to validate, without it. float64's largest is 309 digits.
	MaxNumberDigits = 400

	// MaxDepth bounds nesting, both of the document's JSON objects and
	// arrays (checked as the parser descends, so the value below is never
	// read) and of compiled subschemas, following $ref. The validator's
	// compile time grows faster than quadratically with nesting: a
	// 37 KB schema nesting properties 1000 deep took 16 s and allocated
	// 9 GB before this limit existed.
	MaxDepth = 64

	// MaxSubschemas bounds the schema nodes compiled, a $ref counting once
	// per use: it stops a few $defs that each refer to the next one twice
	// from expanding into 2^n nodes. Real schemas that use a few hundred
	// definitions many times need several thousand (4096 refused 96 of the
	// real-world corpus' 10,508, 16384 refuses 60); optional parts beyond
	// MaxScaffoldValues are left out of the scaffold anyway.
	MaxSubschemas = 16384

	// MaxEnumValues bounds the alternatives of one enum; each is tokenized
	// and scored under the model.
	MaxEnumValues = 1024

	// MaxScaffoldValues bounds the values a scaffold lays out (objects,
	// arrays, strings, numbers and choices) after each array is expanded to
	// its scaffolded items, which multiply with nesting. Compile refuses a
	// schema whose required parts alone exceed it; optional parts are laid
	// out, in schema order, while they fit (builder.afford), so a large
	// schema of optional properties (a Kubernetes object) scaffolds its
	// required fields and as many optional ones as fit.
	MaxScaffoldValues = 4096

	// MaxCanvasTokens bounds a scaffold's canvas (fixed tokens and slots),
	// checked while it is built.
	MaxCanvasTokens = 1 << 15
)

// grow counts values and canvas tokens (fixed text counted in bytes, at
// least its tokens) of node n against the scaffold limits.
func (b *builder) grow(n *Node, values, tokens int) error {
	b.values += values
	b.tokens += tokens
	switch {
	case b.values > MaxScaffoldValues:
		return cerr(n.Ptr, "scaffold", "more than %d values once arrays are expanded to %d items (MaxScaffoldValues)", MaxScaffoldValues, b.opts.ArrayItems)
	case b.tokens > MaxCanvasTokens:
		return cerr(n.Ptr, "scaffold", "canvas longer than %d tokens (MaxCanvasTokens)", MaxCanvasTokens)
	}
	return nil
}

// scaffoldValues counts the values a scaffold of n lays out with arrays of
// items scaffolded items (see builder.build) and every optional part,
// stopping once over limit; at is then the innermost node whose values
// went over it.
func scaffoldValues(n *Node, items, limit int) (count int, at *Node) {
	return countValues(n, items, limit, true)
}

// minValues is scaffoldValues with every optional part left out (optional
// properties, array items past minItems, dynamic entries past their Min):
// what a scaffold of n lays out at least. A union counts its largest
// branch either way.
func minValues(n *Node, limit int) (count int, at *Node) {
	return countValues(n, 0, limit, false)
}

func countValues(n *Node, items, limit int, all bool) (count int, at *Node) {
	count = 1
	add := func(c *Node) bool {
		k, a := countValues(c, items, limit-count, all)
		count += k
		if at = a; at == nil && count > limit {
			at = n
		}
		return at == nil
	}
	switch n.Kind {
	case Object:
		for _, p := range n.Props {
			if (all || p.Required) && !add(p.Node) {
				return count, at
			}
		}
		if d := n.Dyn; d != nil {
			k := d.Min
			if all {
				k = dynEntries(d, items)
			}
			for range k {
				if !add(d.Key) || !add(d.Value) {
					return count, at
				}
			}
		}
	case Array:
		k := max(len(n.Prefix), n.MinItems)
		if all {
			k = arrayItems(n, items)
		}
		for i := range k {
			item := n.Items
			if i < len(n.Prefix) {
				item = n.Prefix[i]
			}
			if !add(item) {
				return count, at
			}
		}
	case Union:
		// One branch is laid out: the largest counts.
		most := 0
		for _, br := range n.Branches {
			k, a := countValues(br, items, limit-count, all)
			if a != nil {
				return count + k, a
			}
			most = max(most, k)
		}
		count += most
	}
	if count > limit {
		return count, n
	}
	return count, nil
}

// afford reports whether the optional parts n (a property, an array item,
// a dynamic entry's key and value, with fixed canvas tokens around them)
// can be laid out within the scaffold's MaxScaffoldValues and
// MaxCanvasTokens, and charges what they need at least (measured by
// building them on the side with no optional part of their own; those are
// afforded one by one as the build reaches them). What the required parts
// of the whole scaffold need was set aside first (reserve), and an
// optional part that does not fit what is left is left out: the output
// without it still validates. The first optional parts in schema order,
// depth first, are kept.
func (b *builder) afford(fixed int, n ...*Node) bool {
	switch {
	case b.all:
		return true
	case b.minimal:
		return false
	}
	sb := b.side(true, false)
	sb.tokens = fixed
	for _, c := range n {
		if _, err := sb.build(c, "", true); err != nil || sb.values > b.spare || sb.tokens > b.spareTokens {
			return false
		}
	}
	b.spare -= sb.values
	b.spareTokens -= sb.tokens
	return true
}

// side is a builder of a scaffold built on the side, to be measured and
// never laid out: minimal leaves every optional part out, all lays every
// one out.
func (b *builder) side(minimal, all bool) *builder {
	s := &Scaffold{v: b.s.v, tok: b.s.tok, opts: b.opts}
	sb := &builder{s: s, sch: b.sch, opts: b.opts, enc: b.enc, minimal: minimal, all: all}
	s.b = sb
	return sb
}

// reserve sets aside what the required parts of sch need: the scaffold
// built with no optional part on the side; its error is the schema's when
// they alone are over a limit. Optional parts then fill at most
// MaxCanvasTokens, or Options.canvasLimit (what the model's positions leave
// after the prompt: optional properties of a large schema are left out
// until the canvas fits the model).
func (b *builder) reserve() error {
	sb := b.side(true, false)
	if _, err := sb.build(b.sch.Root, "", false); err != nil {
		return err
	}
	limit := MaxCanvasTokens
	if b.opts.canvasLimit > 0 {
		limit = min(limit, b.opts.canvasLimit)
	}
	b.spare, b.spareTokens = MaxScaffoldValues-sb.values, limit-sb.tokens
	return nil
}

// arrayItems is how many items a scaffold lays out for array node n.
func arrayItems(n *Node, items int) int {
	if len(n.Prefix) > 0 || n.Items == nil {
		return max(len(n.Prefix), n.MinItems) // a tuple's items, all present
	}
	if n.MaxItems >= 0 {
		return max(n.MinItems, min(n.MaxItems, items))
	}
	return max(n.MinItems, items)
}
