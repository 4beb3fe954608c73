package deploy

import (
	"bufio"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// flagKind is how a flag takes its value.
type flagKind int

const (
	kindString flagKind = iota
	kindBool
	kindInt
	kindFloat
	kindDuration
)

// kinds maps the flag package's definers to the kind of value they parse.
var kinds = map[string]flagKind{
	"String": kindString, "StringVar": kindString, "Func": kindString, "TextVar": kindString, "Var": kindString,
	"Bool": kindBool, "BoolVar": kindBool, "BoolFunc": kindBool,
	"Int": kindInt, "IntVar": kindInt, "Int64": kindInt, "Int64Var": kindInt,
	"Uint": kindInt, "UintVar": kindInt, "Uint64": kindInt, "Uint64Var": kindInt,
	"Float64": kindFloat, "Float64Var": kindFloat,
	"Duration": kindDuration, "DurationVar": kindDuration,
}

// runFlags reads the flags of `dlmstream run` from cmd/dlmstream's source:
// every fs.<Definer>(...) call in (*runFlags).register, where fs is its
// *flag.FlagSet parameter.
func runFlags(t *testing.T) map[string]flagKind {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(repoRoot(t), "cmd", "dlmstream", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	flags := map[string]flagKind{}
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatalf("parsing cmd/dlmstream: %v", err)
		}
		for _, decl := range file.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Name.Name != "register" || fn.Recv == nil || len(fn.Recv.List) != 1 || len(fn.Type.Params.List) == 0 {
				continue
			}
			if star, ok := fn.Recv.List[0].Type.(*ast.StarExpr); !ok || fmt.Sprint(star.X) != "runFlags" {
				continue
			}
			fs := fn.Type.Params.List[0].Names[0].Name
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok || fmt.Sprint(sel.X) != fs {
					return true
				}
				kind, ok := kinds[sel.Sel.Name]
				if !ok {
					return true
				}
				i := 0
				if strings.HasSuffix(sel.Sel.Name, "Var") {
					i = 1 // fs.XxxVar(&dst, name, ...)
				}
				if len(call.Args) <= i {
					return true
				}
				lit, ok := call.Args[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					t.Errorf("%s: flag name is not a string literal", fset.Position(call.Pos()))
					return true
				}
				name, _ := strconv.Unquote(lit.Value)
				flags[name] = kind
				return true
			})
		}
	}
	if len(flags) < 10 || !hasAll(flags, "pipeline", "brokers", "group", "streaming", "metrics-addr", "drain-timeout") {
		t.Fatalf("read %d flags of `dlmstream run` from cmd/dlmstream (%v): the parse no longer finds them", len(flags), keys(flags))
	}
	return flags
}

func hasAll(m map[string]flagKind, names ...string) bool {
	for _, n := range names {
		if _, ok := m[n]; !ok {
			return false
		}
	}
	return true
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

var globalFlagRE = regexp.MustCompile(`\bflag\.(String|StringVar|Bool|BoolVar|Int|IntVar|Int64|Int64Var|Uint|UintVar|Uint64|Uint64Var|Float64|Float64Var|Duration|DurationVar|Var|Func|TextVar|BoolFunc)\(\s*(?:&?[\w.\[\]()]+\s*,\s*)?"([^"]+)"`)

// beamFlags are the flags that the arguments after "--" may use: those
// defined on the flag package's command line by the packages linked into
// ./cmd/dlmstream with the given tags (the Beam SDK's options, its runners',
// and any of this module's own).
func beamFlags(t *testing.T, tags string) map[string]flagKind {
	t.Helper()
	flags := map[string]flagKind{}
	for _, pkg := range binaryDeps(t, tags) {
		if !strings.HasPrefix(pkg.ImportPath, "github.com/apache/beam/") && !strings.HasPrefix(pkg.ImportPath, "dlmstream/") {
			continue
		}
		for _, f := range pkg.GoFiles {
			src, err := os.ReadFile(filepath.Join(pkg.Dir, f))
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range globalFlagRE.FindAllStringSubmatch(string(src), -1) {
				flags[m[2]] = kinds[m[1]]
			}
		}
	}
	if !hasAll(flags, "endpoint", "environment_type", "environment_config", "worker_binary", "job_name") {
		t.Fatalf("found %d Beam flags in the linked packages, not the job options (endpoint, environment_type, ...)", len(flags))
	}
	return flags
}

// commandLine is `dlmstream run ...` split the way runRun reads it.
type commandLine struct {
	set  map[string]string // run flags given, name -> value ("true" for a bare bool)
	beam map[string]string // flags after "--"
}

// parseRun reads the arguments after `run` with the flag package's rules:
// -name or --name, =value or the next argument (not for bools), and "--"
// ends the run flags; what follows are Beam's flags, checked against beam.
func parseRun(args []string, run, beam map[string]flagKind) (commandLine, error) {
	cl := commandLine{set: map[string]string{}, beam: map[string]string{}}
	rest, err := parseFlags(args, run, cl.set, true)
	if err != nil {
		return cl, err
	}
	if len(rest) > 0 {
		if beam == nil {
			return cl, fmt.Errorf("flags after --: %q", rest)
		}
		if more, err := parseFlags(rest, beam, cl.beam, false); err != nil {
			return cl, fmt.Errorf("after --: %v", err)
		} else if len(more) > 0 {
			return cl, fmt.Errorf("after --: arguments %q are not flags", more)
		}
	}
	return cl, nil
}

func parseFlags(args []string, defined map[string]flagKind, set map[string]string, stopAtDashes bool) ([]string, error) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" && stopAtDashes {
			return args[i+1:], nil
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			return nil, fmt.Errorf("argument %q: not a flag (the flag package would stop here and drop the rest)", a)
		}
		name := strings.TrimLeft(a, "-")
		value, hasValue := "", false
		if n, v, ok := strings.Cut(name, "="); ok {
			name, value, hasValue = n, v, true
		}
		kind, ok := defined[name]
		if !ok {
			return nil, fmt.Errorf("flag -%s is not defined", name)
		}
		if !hasValue {
			if kind == kindBool {
				value = "true"
			} else {
				if i+1 >= len(args) {
					return nil, fmt.Errorf("flag -%s needs a value", name)
				}
				i++
				value = args[i]
			}
		}
		if err := checkValue(kind, value); err != nil {
			return nil, fmt.Errorf("flag -%s=%s: %v", name, value, err)
		}
		set[name] = value
	}
	return nil, nil
}

// kubeVarRE finds Kubernetes' $(VAR) references in container arguments.
var kubeVarRE = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// checkValue checks a value parses as its flag's kind. Values with a
// placeholder ($(VAR), $VAR, <...>) are left to whoever fills them in.
func checkValue(kind flagKind, v string) error {
	if strings.ContainsAny(v, "$<") {
		return nil
	}
	var err error
	switch kind {
	case kindBool:
		_, err = strconv.ParseBool(v)
	case kindInt:
		_, err = strconv.ParseInt(v, 0, 64)
	case kindFloat:
		_, err = strconv.ParseFloat(v, 64)
	case kindDuration:
		_, err = time.ParseDuration(v)
	}
	return err
}

// runnerTags is the build tags a runner needs (run_dataflow.go).
func runnerTags(runner string) string {
	if runner == "dataflow" {
		return "dataflow"
	}
	return ""
}

// readmeCommands finds `dlmstream run ...` (or `docker run ... IMAGE run ...`
// with a dlmstream image) in the shell code blocks (``` or ```sh) of a
// Markdown file, continuation lines joined, split into words like a shell
// would (quotes removed, a # word starts a comment, | ; && > end the command).
func readmeCommands(path string) ([][]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var (
		cmds         [][]string
		fence, shell bool
		line         strings.Builder
	)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		text := sc.Text()
		if info, ok := strings.CutPrefix(strings.TrimSpace(text), "```"); ok {
			fence = !fence
			shell = fence && slices.Contains([]string{"", "sh", "bash", "shell", "console"}, strings.TrimSpace(info))
			line.Reset()
			continue
		}
		if !shell {
			continue
		}
		if body, ok := strings.CutSuffix(strings.TrimRight(text, " "), `\`); ok {
			line.WriteString(body + " ")
			continue
		}
		line.WriteString(text)
		words := shellWords(line.String())
		line.Reset()
		for i := 0; i+1 < len(words); i++ {
			if dlmstreamWord.MatchString(words[i]) && words[i+1] == "run" {
				cmds = append(cmds, words[i+2:])
				break
			}
		}
	}
	return cmds, sc.Err()
}

// dlmstreamWord is the binary (a path to it) or one of its images (docker run IMAGE run ...).
var dlmstreamWord = regexp.MustCompile(`^(.*/)?dlmstream(-[a-z]+)?(:\S+)?$`)

func shellWords(s string) []string {
	var (
		words []string
		cur   strings.Builder
		quote rune
		inTok bool
	)
	for _, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, inTok = r, true
		case r == ' ' || r == '\t':
			if inTok {
				words = append(words, cur.String())
				cur.Reset()
				inTok = false
			}
		case r == '#' && !inTok, r == '|' || r == ';' || r == '>' || r == '&':
			if inTok {
				words = append(words, cur.String())
			}
			return words
		default:
			cur.WriteRune(r)
			inTok = true
		}
	}
	if inTok {
		words = append(words, cur.String())
	}
	return words
}

// TestReadmeCommands: the `dlmstream run` commands the deploy READMEs show
// use only flags `dlmstream run` defines and, after "--", flags the linked
// Beam runners define.
func TestReadmeCommands(t *testing.T) {
	root := repoRoot(t)
	run := runFlags(t)
	readmes, err := filepath.Glob(filepath.Join(root, "deploy", "*", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, readme := range readmes {
		cmds, err := readmeCommands(readme)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, readme)
		for _, args := range cmds {
			seen++
			runner := "prism"
			for i, a := range args {
				if a == "--" {
					break
				}
				if v, ok := strings.CutPrefix(a, "--runner="); ok {
					runner = v
				} else if a == "--runner" && i+1 < len(args) {
					runner = args[i+1]
				}
			}
			if _, err := parseRun(args, run, beamFlags(t, runnerTags(runner))); err != nil {
				t.Errorf("%s: dlmstream run %s: %v", rel, strings.Join(args, " "), err)
			}
		}
	}
	if seen < 3 {
		t.Errorf("found %d `dlmstream run` commands in deploy/*/README.md, want the Flink and Dataflow ones at least", seen)
	}
}

func TestParseRun(t *testing.T) {
	run := map[string]flagKind{"pipeline": kindString, "streaming": kindBool, "drain-timeout": kindDuration, "max-in-flight": kindInt}
	beam := map[string]flagKind{"endpoint": kindString, "async": kindBool}
	for _, tt := range []struct {
		name string
		args []string
		ok   bool
	}{
		{"equals and bare bool", []string{"--pipeline=caption", "--streaming", "--drain-timeout=30s"}, true},
		{"separate value", []string{"-pipeline", "caption", "--max-in-flight", "8"}, true},
		{"beam flags", []string{"--pipeline=caption", "--", "--endpoint", "h:8099", "--async"}, true},
		{"unknown run flag", []string{"--pipelines=caption"}, false},
		{"beam flag before --", []string{"--endpoint=h:8099"}, false},
		{"unknown beam flag", []string{"--", "--endpoints=h:8099"}, false},
		{"bad duration", []string{"--drain-timeout=30"}, false},
		{"bad int", []string{"--max-in-flight=many"}, false},
		{"stray word", []string{"--streaming", "caption"}, false},
		{"placeholder", []string{"--max-in-flight=$(N)"}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseRun(tt.args, run, beam)
			if got := err == nil; got != tt.ok {
				t.Errorf("parseRun(%q): err %v, want ok=%v", tt.args, err, tt.ok)
			}
		})
	}
}
