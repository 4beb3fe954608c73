package monitor

import (
	"slices"
	"strings"
	"sync"
)

// Health is the readiness of a process's components, by name. The zero
// value has no component and is not ready. Safe for concurrent use.
type Health struct {
	mu    sync.Mutex
	ready map[string]bool
}

// SetReady records whether component is ready; a component first seen
// with ready false is one the process now waits for.
func (h *Health) SetReady(component string, ready bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ready == nil {
		h.ready = map[string]bool{}
	}
	h.ready[component] = ready
}

// Ready reports whether every component is ready (and at least one has
// reported), with a one-line reason: the components not ready, or, when
// ready, all of them.
func (h *Health) Ready() (ok bool, reason string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.ready) == 0 {
		return false, "not ready: no component has reported yet"
	}
	var all, waiting []string
	for c, r := range h.ready {
		all = append(all, c)
		if !r {
			waiting = append(waiting, c)
		}
	}
	slices.Sort(all)
	slices.Sort(waiting)
	if len(waiting) > 0 {
		return false, "not ready: " + strings.Join(waiting, ", ")
	}
	return true, "ready: " + strings.Join(all, ", ")
}

// Reset forgets every component.
func (h *Health) Reset() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ready = nil
}

// health is the process's readiness, served by Handler.
var health Health

// SetReady records whether component of this process is ready (see
// Health.SetReady): "engine <model>", "kafka source <topics>".
func SetReady(component string, ready bool) { health.SetReady(component, ready) }

// Ready reports the process's readiness (see Health.Ready).
func Ready() (ok bool, reason string) { return health.Ready() }

// ResetReadiness forgets every component of the process, so that a new
// job's components declare themselves afresh: dlmstream run calls it
// before it builds the job's pipelines.
func ResetReadiness() { health.Reset() }
