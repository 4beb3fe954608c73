package main

import (
	"flag"
	"fmt"
	"sort"
	"strings"

	"dlmstream/engine/decode"
)

// policyFlags are the command-line knobs of the unmasking policies.
type policyFlags struct {
	name   string
	tau    float64
	tauLow float64 // localleap's relaxed bar
	steps  int
	k      int
	verify bool    // --freedave: draft and verify the policy's steps (FreeDave.Of)
	tree   int     // --freedave-tree: FreeDave.Tree
	alt    float64 // --freedave-alt: FreeDave.Alt
}

// policies maps a --policy name to its constructor; the engine itself only
// sees decode.Policy values.
var policies = map[string]func(f policyFlags, block int) decode.Policy{
	"static":     func(f policyFlags, b int) decode.Policy { return decode.StaticTopK{Steps: stepsOr(f.steps, b)} },
	"threshold":  func(f policyFlags, b int) decode.Policy { return decode.Threshold{Tau: float32(f.tau)} },
	"threshold2": func(f policyFlags, b int) decode.Policy { return decode.Threshold{Tau: float32(f.tau), Strict: true} },
	"factor":     func(f policyFlags, b int) decode.Policy { return decode.Factor{F: float32(f.tau)} },
	"dynamic": func(f policyFlags, b int) decode.Policy {
		return decode.Dynamic{Tau: float32(f.tau), Steps: stepsOr(f.steps, b)}
	},
	"entropy": func(f policyFlags, b int) decode.Policy { return decode.EntropyBounded{Gamma: float32(f.tau)} },
	"margin":  func(f policyFlags, b int) decode.Policy { return decode.TopKMargin{Steps: stepsOr(f.steps, b)} },
	"credit": func(f policyFlags, b int) decode.Policy {
		c := decode.DefaultCredit()
		c.Tau = float32(f.tau)
		return c
	},
	"sched": func(f policyFlags, b int) decode.Policy {
		return decode.SchED{Inner: decode.Threshold{Tau: float32(f.tau)}, High: 8, Low: 2}
	},
	"oracle": func(f policyFlags, b int) decode.Policy { return decode.Oracle{K: max(f.k, 1)} },
	// LocalLeap: anchors at --tau, their neighbours within --k positions at
	// the relaxed bar --tau-low.
	"localleap": func(f policyFlags, b int) decode.Policy {
		return decode.LocalLeap{High: float32(f.tau), Low: float32(f.tauLow), Radius: max(f.k, 1)}
	},
	// dInfer's hierarchy: every position above --tau, and each run of
	// masks' best above --tau-low.
	"hierarchy": func(f policyFlags, b int) decode.Policy {
		return decode.Hierarchy{High: float32(f.tau), Low: float32(f.tauLow)}
	},
	// dInfer's iteration smoothing: soft inputs at the masks, the bar
	// decaying from 1.0 to --tau.
	"itersmooth": func(f policyFlags, b int) decode.Policy { return decode.DefaultIterSmooth(float32(f.tau)) },
	"sequential": func(f policyFlags, b int) decode.Policy { return decode.Sequential{} },
	// FreeDave: one token per step's output, drafts verified in the same
	// batched forward; --k states per forward (the block size unless
	// --k is above 1).
	"freedave": func(f policyFlags, b int) decode.Policy {
		if f.k > 1 {
			return decode.FreeDave{K: f.k, Tree: f.tree, Alt: float32(f.alt)}
		}
		return decode.FreeDave{Tree: f.tree, Alt: float32(f.alt)}
	},
}

func stepsOr(steps, block int) int {
	if steps > 0 {
		return steps
	}
	return block
}

func policyNames() string {
	n := make([]string, 0, len(policies))
	for k := range policies {
		n = append(n, k)
	}
	sort.Strings(n)
	return strings.Join(n, ", ")
}

func (f policyFlags) policy(block int) (decode.Policy, error) {
	mk, ok := policies[f.name]
	if !ok {
		return nil, fmt.Errorf("unknown --policy %q (known: %s)", f.name, policyNames())
	}
	p := mk(f, block)
	if !f.verify {
		if f.name != "freedave" && (f.tree != 0 || f.alt != 0) {
			return nil, fmt.Errorf("--freedave-tree and --freedave-alt shape FreeDave's drafts: add --freedave (or use --policy freedave)")
		}
		return p, nil
	}
	if f.name == "freedave" {
		return nil, fmt.Errorf("--freedave verifies another --policy; --policy freedave is one token per step, verified, already")
	}
	return decode.FreeDave{Of: p, Tree: f.tree, Alt: float32(f.alt)}, nil
}

// addVerifyFlag registers --freedave, which wraps --policy in FreeDave.
func addVerifyFlag(fs *flag.FlagSet, f *policyFlags) {
	fs.BoolVar(&f.verify, "freedave", false, "FreeDave over --policy: draft its next steps and verify them in the same batched forward; the output is the policy's own, in fewer forwards (block-causal models, greedy)")
	fs.IntVar(&f.tree, "freedave-tree", 0, "FreeDave drafts a tree: up to this many combinations of its drafts beyond the chain's prefixes per forward (0: the chain)")
	fs.Float64Var(&f.alt, "freedave-alt", 0, "with --freedave-tree: also draft a position's second token where its probability is at least this (0: never)")
}
