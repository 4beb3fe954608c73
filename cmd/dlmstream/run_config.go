//go:build !nobeam

package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// applyConfig sets every flag of fs named in the YAML file at path that
// the command line did not set: the file holds `name: value` pairs, one
// per flag of `dlmstream run` (the flag names without dashes; a list is
// joined with commas, as the comma-separated flags take it). Unknown
// names are errors, naming the file and the key.
func applyConfig(fs *flag.FlagSet, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("run: --config: %w", err)
	}
	var kv map[string]any
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&kv); err != nil && err.Error() != "EOF" {
		return fmt.Errorf("run: --config %s: %v", path, err)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k == "config" {
			return fmt.Errorf("run: --config %s: a config file cannot name another (key config)", path)
		}
		if fs.Lookup(k) == nil {
			return fmt.Errorf("run: --config %s: unknown option %q (see dlmstream run --help)", path, k)
		}
		if set[k] {
			continue // the command line wins
		}
		v, err := configValue(kv[k])
		if err != nil {
			return fmt.Errorf("run: --config %s: %s: %v", path, k, err)
		}
		if err := fs.Set(k, v); err != nil {
			return fmt.Errorf("run: --config %s: %s: %v", path, k, err)
		}
	}
	return nil
}

// configValue is a YAML value as the flag's text.
func configValue(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case bool:
		return strconv.FormatBool(x), nil
	case int:
		return strconv.Itoa(x), nil
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), nil
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			s, err := configValue(e)
			if err != nil {
				return "", err
			}
			if strings.Contains(s, ",") {
				return "", fmt.Errorf("list item %q holds a comma", s)
			}
			parts[i] = s
		}
		return strings.Join(parts, ","), nil
	}
	return "", fmt.Errorf("a %T is not a flag value (want a string, number, bool or list)", v)
}

// configPath finds --config in args before the flags are parsed (the
// file's values go in first, so the command line overrides them).
func configPath(args []string) string {
	for i, a := range args {
		if a == "--" {
			break
		}
		for _, p := range []string{"--config=", "-config="} {
			if strings.HasPrefix(a, p) {
				return a[len(p):]
			}
		}
		if (a == "--config" || a == "-config") && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}
