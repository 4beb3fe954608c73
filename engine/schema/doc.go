// Package schema extracts JSON that validates against a JSON Schema (draft
// 2020-12) from a block-diffusion model, by construction rather than by
// hope (S³-style scaffolding, see shared/docs/multimodal.md section C, made
// type-aware and constrained):
//
//   - Compile turns a schema into a tree of nodes (objects, arrays, strings,
//     numbers, choices); unsupported keywords give a *CompileError naming the
//     keyword and its JSON pointer. Supported: type (and type arrays with
//     null), properties, required, additionalProperties true/false, enum,
//     const, items, minItems, maxItems, minLength (<= 32), maxLength,
//     pattern (regular: no \b, lookaround or backreferences), format date,
//     date-time, email, uri, minimum, maximum, exclusiveMinimum,
//     exclusiveMaximum, multipleOf (<= 4 significant, <= 8 fraction
//     digits), $ref to local $defs (non-recursive), annotations.
//   - A scaffold lays the tree out as a canvas: keys, braces, quotes and
//     commas are fixed tokens; each string or number value is a slot of
//     mask tokens with a token budget; unused budget is absorbed by a pad
//     token (<|endoftext|>) stripped afterwards. Optional properties and
//     nullable values may come out absent or null (an all-pad slot); arrays
//     scaffold up to ArrayItems items (never more than maxItems, never fewer
//     than minItems) and items beyond minItems whose first value is empty
//     collapse. Numbers are unquoted.
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
