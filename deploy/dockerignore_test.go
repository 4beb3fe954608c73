package deploy

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// dockerignore is a parsed .dockerignore, matched the way BuildKit's
// patternmatcher does: patterns in order, the last match wins, "!" lets a
// path back in, a pattern matching a folder covers everything under it, "*"
// and "?" stay within one path element and "**" spans any number.
type dockerignore struct {
	patterns []ignorePattern
}

type ignorePattern struct {
	negate bool
	re     *regexp.Regexp
}

func readDockerignore(path string) (*dockerignore, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	di := &dockerignore{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		p := ignorePattern{}
		if rest, ok := strings.CutPrefix(line, "!"); ok {
			p.negate, line = true, strings.TrimSpace(rest)
		}
		line = strings.TrimPrefix(filepath.ToSlash(filepath.Clean(line)), "/")
		p.re = regexp.MustCompile("^" + globRegexp(line) + "$")
		di.patterns = append(di.patterns, p)
	}
	return di, sc.Err()
}

func globRegexp(pattern string) string {
	var b strings.Builder
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		switch {
		case c == '*' && i+1 < len(pattern) && pattern[i+1] == '*':
			i++
			if i+1 < len(pattern) && pattern[i+1] == '/' {
				i++
				b.WriteString("(.*/)?")
			} else {
				b.WriteString(".*")
			}
		case c == '*':
			b.WriteString("[^/]*")
		case c == '?':
			b.WriteString("[^/]")
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	return b.String()
}

// excluded reports whether path (relative to the context, slash or OS form)
// is left out of the build context.
func (di *dockerignore) excluded(path string) bool {
	path = filepath.ToSlash(filepath.Clean(path))
	elems := strings.Split(path, "/")
	out := false
	for _, p := range di.patterns {
		match := p.re.MatchString(path)
		// A pattern that names a parent folder covers the path.
		for n := 1; !match && n < len(elems); n++ {
			match = p.re.MatchString(strings.Join(elems[:n], "/"))
		}
		if match {
			out = !p.negate
		}
	}
	return out
}

func TestDockerignore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.dockerignore")
	src := ".git\nbin\n**/__pycache__\ntestdata\n!testdata/models/demo-text\n*.test\n"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	di, err := readDockerignore(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		path     string
		excluded bool
	}{
		{".git/config", true},
		{"bin/dlmstream", true},
		{"cmd/dlmstream/main.go", false},
		{"tools/bench/__pycache__/x.pyc", true},
		{"__pycache__/x.pyc", true},
		{"testdata/heldout/a.wav", true},
		{"testdata/models/demo-text/config.json", false},
		{"testdata/models/demo-vision/config.json", true},
		{"engine.test", true},
		{"cmd/x.test", false},
	} {
		if got := di.excluded(tt.path); got != tt.excluded {
			t.Errorf("excluded(%q) = %v, want %v", tt.path, got, tt.excluded)
		}
	}
}
