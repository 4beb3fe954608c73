package kafka

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	kgo "github.com/segmentio/kafka-go"
)

func TestEnvelopeFromMessage(t *testing.T) {
	m := kgo.Message{Topic: "in", Partition: 3, Offset: 42, Key: []byte("k"), Value: []byte("v"),
		Time:    time.UnixMilli(1700000000123),
		Headers: []kgo.Header{{Key: HeaderContentType, Value: []byte("image/png")}}}
	e := fromMessage(m, "grp", 40, 7)
	if got, want := e.Header(HeaderRequestID), "in/3/42"; got != want {
		t.Errorf("request id = %q, want %q (filled from the source)", got, want)
	}
	if got, want := e.Origin, (Origin{Group: "grp", Topic: "in", Partition: 3, Offset: 42, From: 40, Base: 7}); got != want {
		t.Errorf("origin = %+v, want %+v", got, want)
	}
	if e.Timestamp != 1700000000123 || e.Header(HeaderContentType) != "image/png" {
		t.Errorf("timestamp %d, content type %q", e.Timestamp, e.Header(HeaderContentType))
	}
	m.Headers = append(m.Headers, kgo.Header{Key: HeaderRequestID, Value: []byte("req-1")})
	if got := fromMessage(m, "", 0, 0).Header(HeaderRequestID); got != "req-1" {
		t.Errorf("producer's request id replaced: %q", got)
	}
}

func TestEnvelopeResultAndDeadLetter(t *testing.T) {
	in := Envelope{Key: []byte("k"), Value: []byte("orig"), Topic: "in", Partition: 1, Offset: 9,
		Headers: []Header{{HeaderContentType, []byte("audio/wav")}, {HeaderRequestID, []byte("r")}},
		Origin:  Origin{Group: "g", Topic: "in", Partition: 1, Offset: 9, From: 9}}
	r := in.Result("out", []byte(`{"text":"x"}`))
	if r.Topic != "out" || string(r.Value) != `{"text":"x"}` || r.Origin != in.Origin || string(r.Key) != "k" {
		t.Errorf("result = %+v", r)
	}
	if r.Header(HeaderSource) != "in/1/9" || r.Header(HeaderRequestID) != "r" {
		t.Errorf("result headers = %+v", r.Headers)
	}
	d := in.DeadLetter("dlq", "decode", "not-audio", errors.New("no RIFF header"))
	want := map[string]string{HeaderErrorStage: "decode", HeaderErrorReason: "not-audio", HeaderError: "no RIFF header",
		HeaderContentType: "audio/wav", HeaderRequestID: "r", HeaderSource: "in/1/9"}
	for k, v := range want {
		if got := d.Header(k); got != v {
			t.Errorf("dead letter header %s = %q, want %q", k, got, v)
		}
	}
	if string(d.Value) != "orig" || d.Topic != "dlq" {
		t.Errorf("dead letter value %q topic %q", d.Value, d.Topic)
	}
	if len(in.Headers) != 2 {
		t.Errorf("input headers changed: %+v", in.Headers)
	}
	back := d.message("dlq")
	if len(back.Headers) != len(d.Headers) || back.Topic != "dlq" {
		t.Errorf("message = %+v", back)
	}
}

func TestConfigValidate(t *testing.T) {
	ok := Config{Brokers: []string{"127.0.0.1:9092"}}
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"plain", ok, ""},
		{"no brokers", Config{}, "no brokers"},
		{"no port", Config{Brokers: []string{"localhost"}}, "host:port"},
		{"scram", Config{Brokers: ok.Brokers, SASLMechanism: SASLScramSHA512, SASLUser: "u", SASLPassword: "p"}, ""},
		{"sasl without user", Config{Brokers: ok.Brokers, SASLMechanism: SASLPlain}, "needs a user"},
		{"unknown mechanism", Config{Brokers: ok.Brokers, SASLMechanism: "GSSAPI", SASLUser: "u"}, "unknown SASL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("Validate() = %v, want error containing %q", err, tt.wantErr)
			}
			if err == nil {
				if _, err := tt.cfg.dialer(); err != nil {
					t.Fatalf("dialer: %v", err)
				}
				if _, err := tt.cfg.transport(); err != nil {
					t.Fatalf("transport: %v", err)
				}
			}
		})
	}
	src := []struct {
		name    string
		cfg     SourceConfig
		wantErr string
	}{
		{"committed", SourceConfig{Config: ok, Topics: []string{"t"}, Group: "g"}, ""},
		{"no topics", SourceConfig{Config: ok, Group: "g"}, "no topics"},
		{"committed without group", SourceConfig{Config: ok, Topics: []string{"t"}, Start: StartCommitted}, "needs a group"},
		{"timestamp without time", SourceConfig{Config: ok, Topics: []string{"t"}, Start: StartTimestamp}, "start_time"},
		{"bad start", SourceConfig{Config: ok, Topics: []string{"t"}, Start: "newest"}, "unknown start"},
		{"earliest without group", SourceConfig{Config: ok, Topics: []string{"t"}, Start: StartEarliest}, ""},
	}
	for _, tt := range src {
		t.Run("source/"+tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("Validate() = %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestSpecsDocumentEveryField checks that every JSON field of the configs has a spec entry.
func TestSpecsDocumentEveryField(t *testing.T) {
	for _, c := range []struct {
		typ  reflect.Type
		spec []SpecField
	}{
		{reflect.TypeOf(Config{}), ConfigSpec},
		{reflect.TypeOf(SourceConfig{}), SourceSpec},
		{reflect.TypeOf(SinkConfig{}), SinkSpec},
	} {
		names := map[string]bool{}
		for _, f := range c.spec {
			names[f.Name] = true
			if f.Description == "" || f.Example == "" {
				t.Errorf("%s: field %s lacks a description or example", c.typ, f.Name)
			}
		}
		for i := 0; i < c.typ.NumField(); i++ {
			f := c.typ.Field(i)
			if f.Anonymous {
				continue
			}
			name := strings.Split(f.Tag.Get("json"), ",")[0]
			if !names[name] {
				t.Errorf("%s.%s (json %q) is not in the spec", c.typ, f.Name, name)
			}
		}
	}
	if doc := ConfigDoc(ConfigSpec); !strings.Contains(doc, "| brokers |") {
		t.Errorf("ConfigDoc = %q", doc)
	}
}

// FuzzEnvelopeRoundTrip checks that a record survives record → envelope → record with
// its key, value and headers, and that dead-lettering keeps the original bytes.
func FuzzEnvelopeRoundTrip(f *testing.F) {
	f.Add([]byte("k"), []byte("v"), "content-type", []byte("image/png"))
	f.Add([]byte{}, []byte{0xff, 0x00}, "request-id", []byte{})
	f.Fuzz(func(t *testing.T, key, value []byte, hk string, hv []byte) {
		m := kgo.Message{Topic: "t", Partition: 1, Offset: 5, Key: key, Value: value, Time: time.UnixMilli(1),
			Headers: []kgo.Header{{Key: hk, Value: hv}}}
		e := fromMessage(m, "g", 5, 0)
		back := e.message("out")
		if string(back.Key) != string(key) || string(back.Value) != string(value) {
			t.Fatalf("key/value changed: %q %q", back.Key, back.Value)
		}
		if e.Header(HeaderRequestID) == "" {
			t.Fatal("no request id")
		}
		if hk != HeaderRequestID && e.Header(hk) != string(hv) {
			t.Fatalf("header %q = %q, want %q", hk, e.Header(hk), hv)
		}
		d := e.DeadLetter("dlq", "decode", "corrupt", nil)
		if string(d.Value) != string(value) || d.Origin != e.Origin {
			t.Fatal("dead letter lost the original value or origin")
		}
	})
}

// TestDeadLetterFits: a dead letter stays within MaxDeadLetterBytes, key,
// value and headers together; a cut value keeps its first bytes and says
// what was cut, and a small one is untouched.
func TestDeadLetterFits(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789"), 2<<20/10) // 2 MiB
	sum := sha256.Sum256(big)
	for _, c := range []struct {
		name   string
		value  []byte
		schema string // a json-schema header also counts
		err    error
		cut    bool
	}{
		{"small", []byte("orig"), "", errors.New("no RIFF header"), false},
		{"exactly fits", big[:MaxDeadLetterBytes-200], "", nil, false},
		{"2 MiB value", big, "", errors.New("oversize: 2097152 bytes, limit 1048576"), true},
		{"large schema header", big[:900<<10], strings.Repeat(" ", 200<<10), nil, true},
		{"long error", []byte("x"), "", errors.New(strings.Repeat("é", 1<<20)), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := Envelope{Key: []byte("key"), Value: c.value, Topic: "in", Offset: 3,
				Headers: []Header{{HeaderRequestID, []byte("r")}}}
			if c.schema != "" {
				in = in.WithHeader(HeaderSchema, c.schema)
			}
			d := in.DeadLetter("dlq", "decode", "oversize", c.err)
			size := len(d.Key) + len(d.Value)
			for _, h := range d.Headers {
				size += len(h.Key) + len(h.Value)
			}
			if size > MaxDeadLetterBytes {
				t.Fatalf("dead letter is %d bytes, over %d", size, MaxDeadLetterBytes)
			}
			if !bytes.HasPrefix(c.value, d.Value) {
				t.Fatal("value is not a prefix of the original")
			}
			if !utf8.ValidString(d.Header(HeaderError)) {
				t.Error("error header is not UTF-8 after the cut")
			}
			marker := d.Header(HeaderTruncated)
			if !c.cut {
				if marker != "" || len(d.Value) != len(c.value) {
					t.Fatalf("cut %d -> %d bytes (%q)", len(c.value), len(d.Value), marker)
				}
				return
			}
			want := fmt.Sprintf("kept the first %d of %d bytes; sha256 %x", len(d.Value), len(c.value), sha256.Sum256(c.value))
			if marker != want {
				t.Fatalf("marker %q, want %q", marker, want)
			}
			if c.name == "2 MiB value" && !strings.Contains(marker, fmt.Sprintf("%x", sum)) {
				t.Fatal("marker lacks the original's digest")
			}
			if len(d.Value) < MaxDeadLetterBytes/2 {
				t.Errorf("kept only %d bytes", len(d.Value))
			}
		})
	}
}
