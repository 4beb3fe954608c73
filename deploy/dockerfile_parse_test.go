package deploy

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The Dockerfiles are read by a small parser of the instructions they use
// rather than by BuildKit's (github.com/moby/buildkit/frontend/dockerfile/parser):
// the newest BuildKit raises go.mod's go directive, and the release that does
// not still moves otelgrpc and x/exp under the Beam runtime the binary links.
// The parser follows the Dockerfile reference for what these files contain:
// parser directives, comments, backslash continuations, --flags, the JSON
// (exec) form, ARG defaults and ${VAR} / ${VAR:-word} expansion. It does not
// do heredocs or a changed escape character, and rejects them.

// instruction is one Dockerfile instruction.
type instruction struct {
	line  int      // line where it starts
	cmd   string   // upper case: FROM, RUN, COPY, ...
	flags []string // leading --name[=value] options (COPY --from=build, RUN --mount=...)
	args  string   // the rest, continuation lines joined with a space
	exec  []string // the JSON (exec) form of args, nil for the shell form
}

// stage is one FROM and the instructions up to the next.
type stage struct {
	name  string // AS name, "" if none
	image string // base after ARG expansion: an image reference or an earlier stage's name
	from  instruction
	body  []instruction
}

type dockerfile struct {
	path   string
	args   map[string]string // ARGs before the first FROM, with their defaults
	stages []*stage
}

func parseDockerfile(path string) (*dockerfile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	df := &dockerfile{path: path, args: map[string]string{}}
	var (
		sc       = bufio.NewScanner(f)
		n        = 0
		pending  strings.Builder
		start    = 0
		preamble = true // parser directives are only allowed before anything else
	)
	flush := func() error {
		text := strings.TrimSpace(pending.String())
		pending.Reset()
		if text == "" {
			return nil
		}
		in, err := splitInstruction(start, text)
		if err != nil {
			return fmt.Errorf("%s:%d: %v", path, start, err)
		}
		return df.add(in)
	}
	for sc.Scan() {
		n++
		raw := sc.Text()
		trimmed := strings.TrimSpace(raw)
		if strings.HasPrefix(trimmed, "#") {
			if preamble && pending.Len() == 0 {
				if k, v, ok := directive(trimmed); ok {
					if k == "escape" && v != `\` {
						return nil, fmt.Errorf("%s:%d: escape=%s is not supported by this parser", path, n, v)
					}
					continue
				}
			}
			continue // comments, also inside continuations
		}
		preamble = false
		if trimmed == "" && pending.Len() == 0 {
			continue
		}
		if pending.Len() == 0 {
			start = n
		}
		if strings.Contains(trimmed, "<<") && pending.Len() == 0 && regexp.MustCompile(`^(RUN|COPY|ADD)\b.*<<-?["']?\w+`).MatchString(trimmed) {
			return nil, fmt.Errorf("%s:%d: heredocs are not supported by this parser", path, n)
		}
		if body, ok := strings.CutSuffix(strings.TrimRight(raw, " \t"), `\`); ok {
			pending.WriteString(body)
			pending.WriteString(" ")
			continue
		}
		pending.WriteString(raw)
		if err := flush(); err != nil {
			return nil, err
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if len(df.stages) == 0 {
		return nil, fmt.Errorf("%s: no FROM", path)
	}
	return df, nil
}

var directiveRE = regexp.MustCompile(`^#\s*([a-zA-Z]+)\s*=\s*(\S+)\s*$`)

// directive reports a parser directive line (# syntax=..., # escape=...).
func directive(line string) (key, value string, ok bool) {
	m := directiveRE.FindStringSubmatch(line)
	if m == nil {
		return "", "", false
	}
	key = strings.ToLower(m[1])
	return key, m[2], key == "syntax" || key == "escape" || key == "check"
}

func splitInstruction(line int, text string) (instruction, error) {
	cmd, rest, _ := strings.Cut(text, " ")
	in := instruction{line: line, cmd: strings.ToUpper(cmd)}
	if !regexp.MustCompile(`^[A-Z]+$`).MatchString(in.cmd) {
		return in, fmt.Errorf("not an instruction: %q", text)
	}
	rest = strings.TrimSpace(rest)
	if in.cmd == "FROM" || in.cmd == "COPY" || in.cmd == "ADD" || in.cmd == "RUN" {
		for strings.HasPrefix(rest, "--") {
			flag, after, _ := strings.Cut(rest, " ")
			in.flags = append(in.flags, flag)
			rest = strings.TrimSpace(after)
		}
	}
	in.args = rest
	if strings.HasPrefix(rest, "[") {
		var exec []string
		if err := json.Unmarshal([]byte(rest), &exec); err == nil {
			in.exec = exec
		}
	}
	return in, nil
}

func (df *dockerfile) add(in instruction) error {
	if in.cmd == "FROM" {
		fields := strings.Fields(in.args)
		st := &stage{from: in}
		switch {
		case len(fields) == 1:
		case len(fields) == 3 && strings.EqualFold(fields[1], "AS"):
			st.name = strings.ToLower(fields[2])
		default:
			return fmt.Errorf("%s:%d: FROM %q: want IMAGE [AS NAME]", df.path, in.line, in.args)
		}
		st.image = expand(fields[0], df.args)
		df.stages = append(df.stages, st)
		return nil
	}
	if len(df.stages) == 0 {
		if in.cmd != "ARG" {
			return fmt.Errorf("%s:%d: %s before the first FROM", df.path, in.line, in.cmd)
		}
		name, def, _ := strings.Cut(in.args, "=")
		df.args[strings.TrimSpace(name)] = strings.Trim(strings.TrimSpace(def), `"`)
		return nil
	}
	st := df.stages[len(df.stages)-1]
	st.body = append(st.body, in)
	return nil
}

var varRE = regexp.MustCompile(`\$\{(\w+)(?::-([^}]*))?\}|\$(\w+)`)

// expand substitutes ${NAME}, ${NAME:-word} and $NAME from vars; unknown
// names are left as they are, so that a check can see them.
func expand(s string, vars map[string]string) string {
	return varRE.ReplaceAllStringFunc(s, func(m string) string {
		sub := varRE.FindStringSubmatch(m)
		name := sub[1] + sub[3]
		if v, ok := vars[name]; ok && v != "" {
			return v
		}
		if sub[1] != "" && strings.Contains(m, ":-") {
			return sub[2]
		}
		return m
	})
}

func (df *dockerfile) stage(name string) *stage {
	for _, st := range df.stages {
		if st.name == name {
			return st
		}
	}
	return nil
}

// chain is st and the local stages it is built FROM, the root first.
func (df *dockerfile) chain(st *stage) []*stage {
	var out []*stage
	for cur := st; cur != nil; cur = df.stage(cur.image) {
		if slices.Contains(out, cur) {
			break
		}
		out = append([]*stage{cur}, out...)
	}
	return out
}

// effective is what a stage's image ends up with: the last USER and
// ENTRYPOINT along its chain, the ENV it sets, and its COPY/ADD instructions.
type effective struct {
	user       string
	entrypoint instruction
	env        map[string]string
	copies     []instruction
	base       string // the external image at the root of the chain
}

func (df *dockerfile) effective(st *stage) effective {
	e := effective{env: map[string]string{}}
	chain := df.chain(st)
	e.base = chain[0].image
	for _, s := range chain {
		vars := map[string]string{}
		for k, v := range df.args {
			vars[k] = v
		}
		for _, in := range s.body {
			switch in.cmd {
			case "ARG":
				name, def, hasDef := strings.Cut(in.args, "=")
				name = strings.TrimSpace(name)
				if hasDef {
					vars[name] = strings.Trim(strings.TrimSpace(def), `"`)
				}
			case "USER":
				e.user = expand(in.args, vars)
			case "ENTRYPOINT":
				e.entrypoint = in
			case "ENV":
				for k, v := range envPairs(in.args) {
					e.env[k] = v
				}
			case "COPY", "ADD":
				e.copies = append(e.copies, in)
			}
		}
	}
	return e
}

// envPairs reads ENV KEY=VALUE ... (and the old ENV KEY VALUE).
func envPairs(args string) map[string]string {
	out := map[string]string{}
	fields := strings.Fields(args)
	if len(fields) == 2 && !strings.Contains(fields[0], "=") {
		out[fields[0]] = fields[1]
		return out
	}
	for _, f := range fields {
		if k, v, ok := strings.Cut(f, "="); ok {
			out[k] = strings.Trim(v, `"`)
		}
	}
	return out
}

func flagValue(flags []string, name string) (string, bool) {
	for _, f := range flags {
		if v, ok := strings.CutPrefix(f, "--"+name+"="); ok {
			return v, true
		}
	}
	return "", false
}

// uid is the numeric user of USER uid[:gid], or -1.
func uid(user string) int {
	u, _, _ := strings.Cut(user, ":")
	n, err := strconv.Atoi(u)
	if err != nil {
		return -1
	}
	return n
}

// pinnedTag reports whether an image reference names a tag other than latest
// or a digest.
func pinnedTag(ref string) bool {
	if strings.Contains(ref, "@sha256:") {
		return true
	}
	if strings.Contains(ref, "$") {
		return false
	}
	slash := strings.LastIndex(ref, "/")
	colon := strings.LastIndex(ref, ":")
	if colon < slash+1 {
		return false
	}
	tag := ref[colon+1:]
	return tag != "" && tag != "latest"
}

func imageTag(ref string) string {
	slash := strings.LastIndex(ref, "/")
	if colon := strings.LastIndex(ref, ":"); colon > slash {
		return ref[colon+1:]
	}
	return ""
}

func imageName(ref string) string {
	slash := strings.LastIndex(ref, "/")
	if colon := strings.LastIndex(ref, ":"); colon > slash {
		return ref[:colon]
	}
	return ref
}

func TestParseDockerfile(t *testing.T) {
	src := "# syntax=docker/dockerfile:1\n" +
		"ARG V=1.2\n" +
		"FROM --platform=$BUILDPLATFORM img:${V}-x AS one\n" +
		"# a comment\n" +
		"RUN a \\\n" +
		"  # inside\n" +
		"  b\n" +
		"FROM one\n" +
		"ARG U=7\n" +
		"USER ${U}:${U}\n" +
		"ENV A=1 B=\"2\"\n" +
		"ENTRYPOINT [\"/x\", \"y\"]\n" +
		"CMD echo hi\n"
	path := filepath.Join(t.TempDir(), "Dockerfile")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	df, err := parseDockerfile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(df.stages), 2; got != want {
		t.Fatalf("stages: got %d, want %d", got, want)
	}
	one := df.stages[0]
	if one.name != "one" || one.image != "img:1.2-x" || !slices.Equal(one.from.flags, []string{"--platform=$BUILDPLATFORM"}) {
		t.Errorf("stage one: got name %q image %q flags %q", one.name, one.image, one.from.flags)
	}
	if got := strings.Join(strings.Fields(one.body[0].args), " "); got != "a b" {
		t.Errorf("continued RUN: got %q, want %q", got, "a b")
	}
	e := df.effective(df.stages[1])
	if e.user != "7:7" || e.env["A"] != "1" || e.env["B"] != "2" || !slices.Equal(e.entrypoint.exec, []string{"/x", "y"}) {
		t.Errorf("effective: got user %q env %v entrypoint %q", e.user, e.env, e.entrypoint.exec)
	}
	if e.base != "img:1.2-x" {
		t.Errorf("base: got %q", e.base)
	}
	for _, tt := range []struct {
		ref    string
		pinned bool
	}{
		{"golang:1.26-bookworm", true},
		{"golang", false},
		{"golang:latest", false},
		{"localhost:5000/x", false},
		{"localhost:5000/x:1", true},
		{"x@sha256:abc", true},
		{"golang:${GO_VERSION}", false},
	} {
		if got := pinnedTag(tt.ref); got != tt.pinned {
			t.Errorf("pinnedTag(%q) = %v, want %v", tt.ref, got, tt.pinned)
		}
	}
}
