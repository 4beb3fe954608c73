//go:build race

package main

// raceEnabled: the race detector slows decoding about tenfold, so the
// held-out sweeps run on the first items only under it.
const raceEnabled = true
