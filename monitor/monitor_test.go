package monitor

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestHandler(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "dlmstream_test_total", Help: "A test counter."})
	reg.MustRegister(c)
	c.Add(3)
	tests := []struct {
		name       string
		method     string
		path       string
		ready      map[string]bool // components set before the request
		wantStatus int
		wantBody   string
	}{
		{"healthz", "GET", "/healthz", nil, 200, "ok"},
		{"healthz while not ready", "GET", "/healthz", map[string]bool{"engine tiny": false}, 200, "ok"},
		{"readyz before any component", "GET", "/readyz", nil, 503, "not ready: no component has reported yet"},
		{"readyz while loading", "GET", "/readyz", map[string]bool{"engine tiny": false, "kafka source in": true}, 503, "not ready: engine tiny"},
		{"readyz once ready", "GET", "/readyz", map[string]bool{"engine tiny": true, "kafka source in": true}, 200, "ready: engine tiny, kafka source in"},
		{"metrics", "GET", "/metrics", nil, 200, "# HELP dlmstream_test_total A test counter.\n# TYPE dlmstream_test_total counter\ndlmstream_test_total 3"},
		{"unknown path", "GET", "/nope", nil, 404, ""},
		{"wrong method", "POST", "/readyz", nil, 405, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h Health
			for c, r := range tt.ready {
				h.SetReady(c, r)
			}
			rec := httptest.NewRecorder()
			NewHandler(reg, &h).ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			if rec.Code != tt.wantStatus || !strings.Contains(rec.Body.String(), tt.wantBody) {
				t.Errorf("%s %s = %d %q; want %d with %q", tt.method, tt.path, rec.Code, rec.Body.String(), tt.wantStatus, tt.wantBody)
			}
			if tt.path == "/readyz" && strings.Count(strings.TrimSpace(rec.Body.String()), "\n") != 0 {
				t.Errorf("readyz reason is not one line: %q", rec.Body.String())
			}
		})
	}
}

func TestStart(t *testing.T) {
	s, err := Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + s.Addr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "go_goroutines") {
		t.Errorf("GET /metrics = %d, body without go_goroutines:\n%.300s", resp.StatusCode, b)
	}
	// The address is taken now: a second server on it fails, naming it.
	if _, err := Start(s.Addr()); err == nil || !strings.Contains(err.Error(), s.Addr()) {
		t.Errorf("Start on a taken address: %v, want an error naming %s", err, s.Addr())
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get("http://" + s.Addr() + "/healthz"); err == nil {
		t.Error("the server still answers after Close")
	}
}

func TestProcessReadiness(t *testing.T) {
	t.Cleanup(ResetReadiness)
	ResetReadiness()
	SetReady("engine tiny", false)
	if ok, reason := Ready(); ok || reason != "not ready: engine tiny" {
		t.Errorf("Ready() = %v, %q", ok, reason)
	}
	SetReady("engine tiny", true)
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != 200 {
		t.Errorf("process /readyz = %d %q after SetReady", rec.Code, rec.Body.String())
	}
}
