package monitor

import "testing"

func TestHealthTransitions(t *testing.T) {
	type step struct {
		component string
		ready     bool
	}
	tests := []struct {
		name       string
		steps      []step
		wantReady  bool
		wantReason string
	}{
		{"nothing reported", nil, false, "not ready: no component has reported yet"},
		{"declared, not ready", []step{{"engine tiny", false}}, false, "not ready: engine tiny"},
		{"one ready", []step{{"engine tiny", false}, {"engine tiny", true}}, true, "ready: engine tiny"},
		{"one of two ready", []step{{"engine tiny", false}, {"kafka source in", false}, {"engine tiny", true}},
			false, "not ready: kafka source in"},
		{"both ready", []step{{"kafka source in", false}, {"engine tiny", true}, {"kafka source in", true}},
			true, "ready: engine tiny, kafka source in"},
		{"ready, then not", []step{{"engine tiny", true}, {"engine tiny", false}}, false, "not ready: engine tiny"},
		{"waiting ones sorted", []step{{"b", false}, {"a", false}, {"c", true}}, false, "not ready: a, b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h Health
			for _, s := range tt.steps {
				h.SetReady(s.component, s.ready)
			}
			ok, reason := h.Ready()
			if ok != tt.wantReady || reason != tt.wantReason {
				t.Errorf("Ready() = %v, %q; want %v, %q", ok, reason, tt.wantReady, tt.wantReason)
			}
			h.Reset()
			if ok, _ := h.Ready(); ok {
				t.Error("ready after Reset")
			}
		})
	}
}
