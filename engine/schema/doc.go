// Package schema extracts JSON that validates against a JSON Schema (draft
// 2020-12) from a block-diffusion model, by construction rather than by
// hope (S³-style scaffolding, see shared/docs/multimodal.md section C, made
// type-aware and constrained):
//
//   - Compile turns a schema into a tree of nodes (objects, arrays, strings,
//     numbers, choices, unions). Drafts 04, 06, 07, 2019-09 and 2020-12
//     are read as their $schema says (or as their keywords show: a boolean
//     exclusiveMinimum is draft-04), and the validator uses the same draft
//     (keywords.go). Keywords outside the validation vocabulary are
//     annotations and ignored (id, x-*, nullable, readonly...); validation
//     keywords the scaffold cannot honour (if/then/else, contains,
//     dependentSchemas, $dynamicRef, not in other forms than below) give a
//     *CompileError naming keyword and JSON pointer. Honoured: not as a
//     forbidden property list, a type, or excluded enum/const values
//     (not.go), type (arrays with null; inferred from the
//     keywords present when absent; no type at all admits any value, laid
//     out as a string), true/false schemas, properties, required,
//     additionalProperties and patternProperties (applied to the listed
//     properties, and as key slots for dictionaries and for what
//     minProperties needs beyond them, dynamic.go), propertyNames,
//     min/maxProperties,
//     dependentRequired, enum, const, items, prefixItems and tuple items,
//     min/maxItems, uniqueItems, min/maxLength, pattern (regular: no ,
//     lookaround or backreferences; escapes and any Unicode in values),
//     formats (date, time, date-time, duration, email, hostname, ipv4,
//     ipv6, uuid, uri, uri-reference, json-pointer... every format the
//     validator asserts, node.go; others are annotations), numeric bounds
//     and multipleOf, $ref (within the document: pointers, anchors, the
//     root's $id; beside other keywords from 2019-09; recursion scaffolded
//     maxRecursion levels deep), allOf (merged, merge.go), anyOf/oneOf
//     (union.go).
//   - A scaffold lays the tree out as a canvas: keys, braces, quotes and
//     commas are fixed tokens; each string or number value is a slot of
//     mask tokens with a token budget; unused budget is absorbed by a pad
//     token (<|endoftext|>) stripped afterwards. Optional properties and
//     nullable values may come out absent or null (an all-pad slot); arrays
//     scaffold up to ArrayItems items (never more than maxItems, never fewer
//     than minItems) and items beyond minItems whose first value is empty
//     collapse. Numbers are unquoted. Optional parts are laid out while the
//     scaffold stays within MaxScaffoldValues and MaxCanvasTokens (limits.go);
//     an optional part that admits no value is left out.
//   - Before any forward, Extract checks the prompt and canvas against the
//     model's positions and the engine's KV budget (preflight.go: a
//     *CanvasError naming the largest part).
//   - A union's branch is chosen by scoring each branch's opening tokens
//     under the model, in context like a choice (scaffold_union.go), and
//     only that branch is laid out.
//   - enum, const, boolean and null values are choices: each alternative's
//     tokens, padded to the slot width, are scored by summed log-probability
//     and the best is written into the canvas as fixed tokens. Models that
//     are causal across blocks (SDAR, Fast-dLLM v2, autoregressive) score a
//     choice in context: the canvas is decoded up to the choice, which is
//     then scored block by block on that clean prefix (incontext.go), as the
//     model was trained; bidirectional models (Dream, LLaDA) score every
//     choice under one forward of the fully masked canvas before decoding.
//   - Free slots are decoded by the engine under a decode.Constraint, which
//     composes with every unmasking policy: a token may be committed at a
//     slot position only if the slot can still be completed, given every
//     token already committed anywhere in it (out-of-order unmasking). Each
//     slot language (JSON string body with escapes and UTF-8, pattern or
//     format NFA over code points, JSON number with exact decimal range and
//     multipleOf) is a lazily determinized byte automaton lifted to tokens;
//     feasibility is a forward/backward pass over the slot's positions with
//     the fewest code points used and still needed (maxLength).
//   - Every result is validated with santhosh-tekuri/jsonschema/v6 (formats
//     asserted). Slots at failing locations are re-decoded with twice their
//     budget, the others kept, for up to Repairs rounds; then a
//     *ValidationError names the failing instance pointer.
//
// Typical use, e.g. in a Beam DoFn: Compile once, then per element
//
//	res, err := schema.Extract(ctx, e, text, s, schema.Options{Policy: decode.Threshold{Tau: 0.9}})
//	// res.JSON validates against s
package schema
