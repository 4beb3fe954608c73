//go:build race

package vision

// raceEnabled: the race detector slows the pure-Go front end and tower
// loops about tenfold, so the held-out sweeps run on a subsample under it
// (every subsampleStep-th item); without it they run on every item.
const raceEnabled = true
