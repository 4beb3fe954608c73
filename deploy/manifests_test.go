package deploy

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// Every YAML document under deploy/k8s is decoded strictly into the Go type
// of its apiVersion and kind: unknown fields, duplicate keys and fields
// spelled in another case are errors. This is the decoding the API server's
// strict field validation does (sigs.k8s.io/yaml's YAMLToJSONStrict, then
// sigs.k8s.io/json's UnmarshalStrict, as apimachinery's strict serializer),
// without a server: no defaulting and no admission, so the cross-checks below
// test what matters to dlmstream.

// manifest is one decoded YAML document.
type manifest struct {
	file       string // relative to deploy/k8s
	index      int    // document number in the file, from 0
	apiVersion string
	kind       string
	name       string
	obj        any
}

func (m manifest) String() string { return fmt.Sprintf("%s#%d %s/%s", m.file, m.index, m.kind, m.name) }

// kindTypes are the kinds the manifests may use.
var kindTypes = map[string]func() any{
	"apps/v1 Deployment":                       func() any { return &appsv1.Deployment{} },
	"batch/v1 Job":                             func() any { return &batchv1.Job{} },
	"v1 Service":                               func() any { return &corev1.Service{} },
	"v1 ConfigMap":                             func() any { return &corev1.ConfigMap{} },
	"v1 Secret":                                func() any { return &corev1.Secret{} },
	"v1 PersistentVolumeClaim":                 func() any { return &corev1.PersistentVolumeClaim{} },
	"keda.sh/v1alpha1 ScaledObject":            func() any { return &scaledObject{} },
	"keda.sh/v1alpha1 TriggerAuthentication":   func() any { return &triggerAuthentication{} },
	"flink.apache.org/v1beta1 FlinkDeployment": func() any { return &flinkDeployment{} },
}

// decodeStrict decodes one YAML document into v.
func decodeStrict(doc []byte, v any) error {
	js, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return err
	}
	strict, err := kjson.UnmarshalStrict(js, v, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err != nil {
		return err
	}
	return errors.Join(strict...)
}

var (
	docSeparator = regexp.MustCompile(`(?m)^---[ \t]*(#.*)?$`)
	commentLine  = regexp.MustCompile(`(?m)^[ \t]*(#.*)?$`)
)

// splitDocuments splits a YAML stream at its --- lines, dropping documents
// that hold only comments.
func splitDocuments(b []byte) [][]byte {
	var docs [][]byte
	for _, d := range docSeparator.Split(string(b), -1) {
		if strings.TrimSpace(commentLine.ReplaceAllString(d, "")) == "" {
			continue
		}
		docs = append(docs, []byte(d))
	}
	return docs
}

func loadManifests(t *testing.T) []manifest {
	t.Helper()
	dir := filepath.Join(repoRoot(t), "deploy", "k8s")
	var out []manifest
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || (filepath.Ext(p) != ".yaml" && filepath.Ext(p) != ".yml") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		for i, doc := range splitDocuments(b) {
			var meta struct {
				APIVersion string `json:"apiVersion"`
				Kind       string `json:"kind"`
				Metadata   struct {
					Name string `json:"name"`
				} `json:"metadata"`
			}
			if err := yaml.Unmarshal(doc, &meta); err != nil {
				t.Errorf("%s#%d: %v", rel, i, err)
				continue
			}
			m := manifest{file: filepath.ToSlash(rel), index: i, apiVersion: meta.APIVersion, kind: meta.Kind, name: meta.Metadata.Name}
			newObj, ok := kindTypes[meta.APIVersion+" "+meta.Kind]
			if !ok {
				t.Errorf("%s: apiVersion %q kind %q: not a kind these tests decode (kindTypes)", m, meta.APIVersion, meta.Kind)
				continue
			}
			m.obj = newObj()
			if err := decodeStrict(doc, m.obj); err != nil {
				t.Errorf("%s: strict decode: %v", m, err)
				continue
			}
			if errs := validation.IsDNS1123Subdomain(m.name); len(errs) > 0 {
				t.Errorf("%s: metadata.name %q: %s", m, m.name, strings.Join(errs, "; "))
			}
			out = append(out, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func objects[T any](ms []manifest) []*T {
	var out []*T
	for _, m := range ms {
		if o, ok := m.obj.(*T); ok {
			out = append(out, o)
		}
	}
	return out
}

func named[T any](ms []manifest, name string) *T {
	for _, m := range ms {
		if o, ok := m.obj.(*T); ok && m.name == name {
			return o
		}
	}
	return nil
}

func TestManifestsDecodeStrictly(t *testing.T) {
	ms := loadManifests(t)
	count := map[string]int{}
	for _, m := range ms {
		count[m.kind]++
	}
	for kind, atLeast := range map[string]int{
		"Deployment": 3, "Service": 2, "ConfigMap": 2, "Secret": 1, "Job": 1,
		"ScaledObject": 1, "TriggerAuthentication": 1, "FlinkDeployment": 1, "PersistentVolumeClaim": 1,
	} {
		if count[kind] < atLeast {
			t.Errorf("deploy/k8s has %d %s documents, want at least %d", count[kind], kind, atLeast)
		}
	}
}

// TestStrictDecodingRejects shows the decoding is strict: a misspelled field,
// a field in the wrong case, a duplicate key and a wrongly typed value are
// all errors, in built-in kinds and in the local CRD types alike.
func TestStrictDecodingRejects(t *testing.T) {
	for _, tt := range []struct {
		name string
		doc  string
		into any
	}{
		{"unknown field", "apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      terminationGracePeriod: 60\n", &appsv1.Deployment{}},
		{"wrong case", "apiVersion: v1\nkind: Service\nspec:\n  Ports: []\n", &corev1.Service{}},
		{"duplicate key", "apiVersion: v1\nkind: ConfigMap\ndata:\n  a: x\n  a: y\n", &corev1.ConfigMap{}},
		{"wrong type", "apiVersion: apps/v1\nkind: Deployment\nspec:\n  replicas: one\n", &appsv1.Deployment{}},
		{"unknown CRD field", "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nspec:\n  maxReplicas: 3\n", &scaledObject{}},
		{"CRD metadata value not a string", "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nspec:\n  triggers:\n  - type: kafka\n    metadata:\n      lagThreshold: 20\n", &scaledObject{}},
		{"Flink pod template field", "apiVersion: flink.apache.org/v1beta1\nkind: FlinkDeployment\nspec:\n  taskManager:\n    podTemplate:\n      spec:\n        containers:\n        - name: x\n          imagee: y\n", &flinkDeployment{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := decodeStrict([]byte(tt.doc), tt.into); err == nil {
				t.Errorf("decodeStrict accepted:\n%s", tt.doc)
			}
		})
	}
}
