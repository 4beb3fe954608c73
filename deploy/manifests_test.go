package deploy

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
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

// runContainer is a container that runs `dlmstream run`, with its options:
// the --config file's (a ConfigMap key), then the command line's over them.
type runContainer struct {
	m    manifest
	pod  *corev1.PodSpec
	c    *corev1.Container
	cl   commandLine
	opts map[string]string
}

// runContainers finds the containers of Deployments and Jobs whose args are
// `run ...` and checks their command lines against cmd/dlmstream.
func runContainers(t *testing.T, ms []manifest) []runContainer {
	t.Helper()
	run := runFlags(t)
	var out []runContainer
	for _, m := range ms {
		var pod *corev1.PodSpec
		switch o := m.obj.(type) {
		case *appsv1.Deployment:
			pod = &o.Spec.Template.Spec
		case *batchv1.Job:
			pod = &o.Spec.Template.Spec
		default:
			continue
		}
		for i := range pod.Containers {
			c := &pod.Containers[i]
			if len(c.Args) == 0 || c.Args[0] != "run" || !strings.Contains(c.Image, "dlmstream") {
				continue
			}
			if len(c.Command) > 0 && !slices.Equal(c.Command, []string{imageBinary}) {
				t.Errorf("%s: container %s: command %q overrides the image's ENTRYPOINT %s", m, c.Name, c.Command, imageBinary)
			}
			runner := "prism"
			for _, a := range c.Args {
				if v, ok := strings.CutPrefix(a, "--runner="); ok {
					runner = v
				}
			}
			cl, err := parseRun(c.Args[1:], run, beamFlags(t, runnerTags(runner)))
			if err != nil {
				t.Errorf("%s: container %s: dlmstream %s: %v", m, c.Name, strings.Join(c.Args, " "), err)
				continue
			}
			rc := runContainer{m: m, pod: pod, c: c, cl: cl, opts: map[string]string{}}
			if cfg, ok := cl.set["config"]; ok {
				for k, v := range configFile(t, ms, rc, cfg, run) {
					rc.opts[k] = v
				}
			}
			for k, v := range cl.set {
				rc.opts[k] = v
			}
			out = append(out, rc)
		}
	}
	return out
}

// configFile reads the --config file a container mounts from a ConfigMap:
// every key must be a flag of `dlmstream run`, with a value of its kind.
func configFile(t *testing.T, ms []manifest, rc runContainer, file string, run map[string]flagKind) map[string]string {
	t.Helper()
	var vol, key string
	for _, vm := range rc.c.VolumeMounts {
		if rel, ok := strings.CutPrefix(file, strings.TrimSuffix(vm.MountPath, "/")+"/"); ok {
			vol, key = vm.Name, rel
		}
	}
	var cmName string
	for _, v := range rc.pod.Volumes {
		if v.Name == vol && v.ConfigMap != nil {
			cmName = v.ConfigMap.Name
		}
	}
	cm := named[corev1.ConfigMap](ms, cmName)
	if vol == "" || cm == nil {
		t.Errorf("%s: --config=%s is not a key of a ConfigMap the container mounts", rc.m, file)
		return nil
	}
	text, ok := cm.Data[key]
	if !ok {
		t.Errorf("%s: --config=%s: ConfigMap %s has no key %q", rc.m, file, cmName, key)
		return nil
	}
	var kv map[string]any
	if err := yaml.UnmarshalStrict([]byte(text), &kv); err != nil {
		t.Errorf("ConfigMap %s key %s: %v", cmName, key, err)
		return nil
	}
	out := map[string]string{}
	for k, v := range kv {
		kind, ok := run[k]
		if !ok || k == "config" {
			t.Errorf("ConfigMap %s key %s: %q is not a flag of dlmstream run", cmName, key, k)
			continue
		}
		var s string
		switch x := v.(type) {
		case []any:
			parts := make([]string, len(x))
			for i, e := range x {
				parts[i] = fmt.Sprint(e)
			}
			s = strings.Join(parts, ",")
		case float64:
			s = strconv.FormatFloat(x, 'f', -1, 64)
		default:
			s = fmt.Sprint(x)
		}
		if err := checkValue(kind, s); err != nil {
			t.Errorf("ConfigMap %s key %s: %s: %q: %v", cmName, key, k, s, err)
		}
		out[k] = s
	}
	return out
}

// portOf resolves a probe's or Service's port (a number or a container port name).
func portOf(c *corev1.Container, p intstr.IntOrString) int {
	if p.Type == intstr.Int {
		return p.IntValue()
	}
	for _, cp := range c.Ports {
		if cp.Name == p.StrVal {
			return int(cp.ContainerPort)
		}
	}
	return -1
}

// imageDockerfile is the Dockerfile that builds a manifest's image, by name.
func imageDockerfile(image string) (file, target string) {
	name := path.Base(imageName(image))
	switch name {
	case "dlmstream":
		return "Dockerfile", "dlmstream"
	case "dlmstream-cuda":
		return "Dockerfile.cuda", "dlmstream"
	case "dlmstream-beam-worker":
		return "Dockerfile", "beam-worker"
	case "dlmstream-cuda-beam-worker":
		return "Dockerfile.cuda", "beam-worker"
	}
	return "", ""
}

// TestWorkerDeployments cross-checks the consumer-group workers (the
// Deployments running `dlmstream run`) with cmd/dlmstream, their images,
// Service, Secret and ConfigMap.
func TestWorkerDeployments(t *testing.T) {
	root := repoRoot(t)
	ms := loadManifests(t)
	workers := 0
	for _, rc := range runContainers(t, ms) {
		dep, ok := rc.m.obj.(*appsv1.Deployment)
		if !ok {
			continue
		}
		workers++
		t.Run(rc.m.file, func(t *testing.T) {
			c, opts := rc.c, rc.opts
			for _, want := range []string{"pipeline", "brokers", "group", "input-topics", "output-topic", "dlq-topic", "model", "metrics-addr", "drain-timeout"} {
				if opts[want] == "" {
					t.Errorf("--%s unset (command line or --config)", want)
				}
			}
			if opts["streaming"] != "true" {
				t.Error("no --streaming: a bounded run ends at the high watermarks and the pod restarts forever")
			}
			if r := dep.Spec.Replicas; r != nil && *r > 1 && opts["membership"] != "true" {
				t.Errorf("replicas %d without --membership: every replica reads every partition", *r)
			}

			// Image and user.
			if !pinnedTag(c.Image) {
				t.Errorf("image %s: want a version tag", c.Image)
			}
			file, target := imageDockerfile(c.Image)
			if file == "" || target != "dlmstream" {
				t.Fatalf("image %s: not one of deploy/docker's dlmstream images", c.Image)
			}
			df := loadDockerfile(t, file)
			img := df.effective(df.stage(target))
			sc := rc.pod.SecurityContext
			if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || int(*sc.RunAsUser) != uid(img.user) {
				t.Errorf("pod securityContext: want runAsNonRoot and runAsUser %d (USER of %s)", uid(img.user), file)
			}
			model := opts["model"]
			name, ok := strings.CutPrefix(model, imageModelsDir+"/")
			if !ok || !slices.Contains(imageModels, name) {
				t.Errorf("--model=%s: want one of the checkpoints %s carries under %s (%v)", model, file, imageModelsDir, imageModels)
			}

			// GPU or not.
			gpus := c.Resources.Limits[corev1.ResourceName("nvidia.com/gpu")]
			switch {
			case !gpus.IsZero() && (file != "Dockerfile.cuda" || opts["backend"] != "cuda"):
				t.Errorf("nvidia.com/gpu %s with image %s (%s) and --backend=%s: want the CUDA image and --backend=cuda", gpus.String(), c.Image, file, opts["backend"])
			case gpus.IsZero() && (file == "Dockerfile.cuda" || opts["backend"] == "cuda"):
				t.Errorf("image %s, --backend=%s without an nvidia.com/gpu limit", c.Image, opts["backend"])
			}
			if c.Resources.Requests.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() {
				t.Error("want a CPU request and a memory limit")
			}

			// Probes and metrics on the --metrics-addr port.
			_, portText, err := net.SplitHostPort(opts["metrics-addr"])
			if err != nil {
				t.Fatalf("--metrics-addr=%s: %v", opts["metrics-addr"], err)
			}
			metricsPort, _ := strconv.Atoi(portText)
			for _, p := range []struct {
				name  string
				probe *corev1.Probe
				path  string
			}{
				{"readinessProbe", c.ReadinessProbe, "/readyz"},
				{"livenessProbe", c.LivenessProbe, "/healthz"},
				{"startupProbe", c.StartupProbe, "/healthz"},
			} {
				if p.probe == nil || p.probe.HTTPGet == nil {
					if p.name != "startupProbe" {
						t.Errorf("%s: want an HTTP GET of %s", p.name, p.path)
					}
					continue
				}
				if got := p.probe.HTTPGet.Path; got != p.path {
					t.Errorf("%s path %s, want %s", p.name, got, p.path)
				}
				if got := portOf(c, p.probe.HTTPGet.Port); got != metricsPort {
					t.Errorf("%s port %s (%d), want the --metrics-addr port %d", p.name, p.probe.HTTPGet.Port.String(), got, metricsPort)
				}
			}
			if a := dep.Spec.Template.Annotations["prometheus.io/port"]; a != "" && a != portText {
				t.Errorf("prometheus.io/port %s, want %d", a, metricsPort)
			}
			services := 0
			for _, svc := range objects[corev1.Service](ms) {
				if !selects(svc.Spec.Selector, dep.Spec.Template.Labels) {
					continue
				}
				services++
				found := false
				for _, sp := range svc.Spec.Ports {
					found = found || portOf(c, sp.TargetPort) == metricsPort
				}
				if !found {
					t.Errorf("Service %s selects the pods but no port targets %d", svc.Name, metricsPort)
				}
			}
			if services == 0 {
				t.Error("no Service selects the worker pods (metrics)")
			}
			if !selects(dep.Spec.Selector.MatchLabels, dep.Spec.Template.Labels) {
				t.Errorf("selector %v does not match the template labels %v", dep.Spec.Selector.MatchLabels, dep.Spec.Template.Labels)
			}

			// SIGTERM drains: the grace period must outlast --drain-timeout.
			drain, err := time.ParseDuration(opts["drain-timeout"])
			if err != nil {
				t.Fatalf("--drain-timeout=%s: %v", opts["drain-timeout"], err)
			}
			grace := rc.pod.TerminationGracePeriodSeconds
			if grace == nil || time.Duration(*grace)*time.Second <= drain {
				t.Errorf("terminationGracePeriodSeconds %v, want more than --drain-timeout %s", deref(grace), drain)
			}
			if c.Lifecycle != nil && c.Lifecycle.PreStop != nil {
				t.Error("a preStop hook delays SIGTERM and eats into the drain; the binary drains on SIGTERM itself")
			}

			checkEnvAndSecrets(t, ms, rc)

			// A read-only root needs a writable /tmp (prism, Beam's loopback worker).
			if c.SecurityContext != nil && c.SecurityContext.ReadOnlyRootFilesystem != nil && *c.SecurityContext.ReadOnlyRootFilesystem {
				if !mountsEmptyDir(rc.pod, c, "/tmp") {
					t.Error("readOnlyRootFilesystem without an emptyDir on /tmp")
				}
			}
			if _, err := os.Stat(filepath.Join(root, "testdata", "models", name, "config.json")); err != nil {
				t.Errorf("--model %s: testdata/models/%s is not a checkpoint: %v", model, name, err)
			}
		})
	}
	if workers < 2 {
		t.Errorf("found %d worker Deployments (CPU and GPU), want 2", workers)
	}
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// selects reports whether a Service or Deployment selector matches labels.
func selects(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func mountsEmptyDir(pod *corev1.PodSpec, c *corev1.Container, dir string) bool {
	for _, vm := range c.VolumeMounts {
		if vm.MountPath != dir {
			continue
		}
		for _, v := range pod.Volumes {
			if v.Name == vm.Name && v.EmptyDir != nil {
				return true
			}
		}
	}
	return false
}

// checkEnvAndSecrets: every $(VAR) in the arguments is an env var of the
// container (Kubernetes leaves unknown references as they are), and every
// secretKeyRef names a key of a Secret in deploy/k8s.
func checkEnvAndSecrets(t *testing.T, ms []manifest, rc runContainer) {
	t.Helper()
	env := map[string]bool{}
	for _, e := range rc.c.Env {
		env[e.Name] = true
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			ref := e.ValueFrom.SecretKeyRef
			if !secretHasKey(ms, ref.Name, ref.Key) {
				t.Errorf("env %s: Secret %s has no key %s", e.Name, ref.Name, ref.Key)
			}
		}
	}
	for _, a := range rc.c.Args {
		for _, m := range kubeVarRE.FindAllStringSubmatch(a, -1) {
			if !env[m[1]] {
				t.Errorf("argument %s: $(%s) is not an env var of the container", a, m[1])
			}
		}
	}
	if rc.opts["sasl-mechanism"] != "" && !env["DLMSTREAM_SASL_PASSWORD"] && rc.cl.set["sasl-password"] == "" {
		t.Error("SASL without a password: want env DLMSTREAM_SASL_PASSWORD from a Secret")
	}
	if v := rc.cl.set["sasl-password"]; v != "" {
		t.Error("--sasl-password on the command line shows in the pod spec: use env DLMSTREAM_SASL_PASSWORD from a Secret")
	}
}

func secretHasKey(ms []manifest, name, key string) bool {
	s := named[corev1.Secret](ms, name)
	if s == nil {
		return false
	}
	_, inData := s.Data[key]
	_, inString := s.StringData[key]
	return inData || inString
}

// kedaSASL is KEDA's spelling of dlmstream's --sasl-mechanism.
var kedaSASL = map[string]string{"PLAIN": "plaintext", "SCRAM-SHA-256": "scram_sha256", "SCRAM-SHA-512": "scram_sha512"}

// kedaOffsetReset is where KEDA counts lag from for a group without a
// committed offset, matching dlmstream's --start (committed falls back to
// the earliest offset).
var kedaOffsetReset = map[string]string{"": "earliest", "committed": "earliest", "earliest": "earliest", "latest": "latest"}

// TestScaledObject: KEDA scales the worker Deployment on its own consumer
// group's lag, with the worker's Kafka settings.
func TestScaledObject(t *testing.T) {
	ms := loadManifests(t)
	workers := map[string][]runContainer{}
	for _, rc := range runContainers(t, ms) {
		if _, ok := rc.m.obj.(*appsv1.Deployment); ok {
			workers[rc.m.name] = append(workers[rc.m.name], rc)
		}
	}
	sos := objects[scaledObject](ms)
	if len(sos) == 0 {
		t.Fatal("no ScaledObject")
	}
	for _, so := range sos {
		t.Run(so.Name, func(t *testing.T) {
			ref := so.Spec.ScaleTargetRef
			if ref == nil || (ref.Kind != "" && ref.Kind != "Deployment") || (ref.APIVersion != "" && ref.APIVersion != "apps/v1") {
				t.Fatalf("scaleTargetRef %+v: want a Deployment", ref)
			}
			targets := workers[ref.Name]
			if len(targets) == 0 {
				t.Fatalf("scaleTargetRef %s: no worker Deployment of that name", ref.Name)
			}
			minR, maxR := int32(0), int32(100)
			if so.Spec.MinReplicaCount != nil {
				minR = *so.Spec.MinReplicaCount
			}
			if so.Spec.MaxReplicaCount != nil {
				maxR = *so.Spec.MaxReplicaCount
			}
			if minR > maxR {
				t.Errorf("minReplicaCount %d > maxReplicaCount %d", minR, maxR)
			}
			for _, rc := range targets {
				if maxR > 1 && rc.opts["membership"] != "true" {
					t.Errorf("%s: maxReplicaCount %d, but the worker runs without --membership: each replica would read every partition and repeat the others' work", rc.m.file, maxR)
				}
			}
			kafka := 0
			for _, trig := range so.Spec.Triggers {
				if trig.Type != "kafka" {
					continue
				}
				kafka++
				for k := range trig.Metadata {
					if !slices.Contains(kafkaTriggerKeys, k) {
						t.Errorf("kafka trigger metadata %q: not a key of KEDA's kafka scaler", k)
					}
				}
				md := trig.Metadata
				if n, err := strconv.Atoi(md["lagThreshold"]); err != nil || n <= 0 {
					t.Errorf("lagThreshold %q: want a positive integer", md["lagThreshold"])
				}
				for _, rc := range targets {
					o := rc.opts
					if md["consumerGroup"] != o["group"] {
						t.Errorf("%s: consumerGroup %q, worker --group %q", rc.m.file, md["consumerGroup"], o["group"])
					}
					if md["bootstrapServers"] != o["brokers"] {
						t.Errorf("%s: bootstrapServers %q, worker --brokers %q", rc.m.file, md["bootstrapServers"], o["brokers"])
					}
					if !slices.Contains(strings.Split(o["input-topics"], ","), md["topic"]) {
						t.Errorf("%s: topic %q is not one of the worker's --input-topics %q", rc.m.file, md["topic"], o["input-topics"])
					}
					if want := kedaOffsetReset[o["start"]]; md["offsetResetPolicy"] != want {
						t.Errorf("%s: offsetResetPolicy %q, want %q for --start=%s", rc.m.file, md["offsetResetPolicy"], want, o["start"])
					}
					checkTriggerAuth(t, ms, trig, rc)
				}
			}
			if kafka == 0 {
				t.Error("no kafka trigger")
			}
		})
	}
}

// checkTriggerAuth: KEDA logs in to Kafka the way the worker does.
func checkTriggerAuth(t *testing.T, ms []manifest, trig scaleTrigger, rc runContainer) {
	t.Helper()
	params := map[string]string{} // parameter -> value in the Secret
	if trig.AuthenticationRef != nil {
		ta := named[triggerAuthentication](ms, trig.AuthenticationRef.Name)
		if ta == nil {
			t.Errorf("authenticationRef %s: no TriggerAuthentication of that name", trig.AuthenticationRef.Name)
			return
		}
		for _, ref := range ta.Spec.SecretTargetRef {
			s := named[corev1.Secret](ms, ref.Name)
			if !secretHasKey(ms, ref.Name, ref.Key) {
				t.Errorf("TriggerAuthentication %s: parameter %s: Secret %s has no key %s", ta.Name, ref.Parameter, ref.Name, ref.Key)
				continue
			}
			params[ref.Parameter] = s.StringData[ref.Key] + string(s.Data[ref.Key])
		}
	}
	for k, v := range trig.Metadata {
		if k == "sasl" || k == "tls" {
			params[k] = v
		}
	}
	o := rc.opts
	if mech := o["sasl-mechanism"]; mech != "" {
		if want := kedaSASL[mech]; params["sasl"] != want {
			t.Errorf("%s: worker --sasl-mechanism=%s, KEDA sasl %q (want %q)", rc.m.file, mech, params["sasl"], want)
		}
		for _, p := range []string{"username", "password"} {
			if _, ok := params[p]; !ok {
				t.Errorf("%s: SASL, but the trigger's authentication gives KEDA no %s", rc.m.file, p)
			}
		}
	}
	if tls := o["tls"] == "true"; tls != (params["tls"] == "enable") {
		t.Errorf("%s: worker --tls=%v, KEDA tls %q", rc.m.file, tls, params["tls"])
	}
}

// TestFlink cross-checks the Flink session cluster, Beam's job server and the
// submitting Job with each other, with go.mod and with the images.
func TestFlink(t *testing.T) {
	mod := readGoMod(t)
	ms := loadManifests(t)
	fds := objects[flinkDeployment](ms)
	if len(fds) != 1 {
		t.Fatalf("%d FlinkDeployments, want 1", len(fds))
	}
	fd := fds[0]
	if fd.Spec.Job != nil {
		t.Error("FlinkDeployment has a job: a session cluster has none (Beam's job server submits the jobs)")
	}

	// Versions: operator enum, Flink image, job server image, go.mod's Beam.
	m := regexp.MustCompile(`^v(\d+)_(\d+)$`).FindStringSubmatch(fd.Spec.FlinkVersion)
	if m == nil {
		t.Fatalf("flinkVersion %q: want v<major>_<minor>", fd.Spec.FlinkVersion)
	}
	flinkMinor := m[1] + "." + m[2]
	if imageName(fd.Spec.Image) != "flink" || !strings.HasPrefix(imageTag(fd.Spec.Image), flinkMinor+".") {
		t.Errorf("image %s: want flink:%s.x (flinkVersion %s)", fd.Spec.Image, flinkMinor, fd.Spec.FlinkVersion)
	}
	jobServer := named[appsv1.Deployment](ms, "beam-flink-job-server")
	if jobServer == nil {
		t.Fatal("no Deployment beam-flink-job-server")
	}
	js := &jobServer.Spec.Template.Spec.Containers[0]
	wantImage := fmt.Sprintf("apache/beam_flink%s_job_server:%s", flinkMinor, mod.beamVersion)
	if strings.HasPrefix(flinkMinor, "2.") {
		wantImage = fmt.Sprintf("apache/beam_flink_job_server:%s-flink%s", mod.beamVersion, flinkMinor)
	}
	if js.Image != wantImage {
		t.Errorf("job server image %s, want %s (Flink %s, go.mod's Beam %s)", js.Image, wantImage, flinkMinor, mod.beamVersion)
	}
	jsArgs := map[string]string{}
	for _, a := range js.Args {
		k, v, ok := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if !ok {
			t.Errorf("job server argument %q: want --name=value", a)
		}
		jsArgs[k] = v
	}
	if want := fd.Name + "-rest:8081"; jsArgs["flink-master"] != want {
		t.Errorf("job server --flink-master=%s, want the operator's REST service %s", jsArgs["flink-master"], want)
	}
	for _, v := range kubeVarRE.FindAllStringSubmatch(strings.Join(js.Args, " "), -1) {
		if !slices.ContainsFunc(js.Env, func(e corev1.EnvVar) bool { return e.Name == v[1] }) {
			t.Errorf("job server argument $(%s): no such env var", v[1])
		}
	}

	// Checkpointing: the job server's Flink configuration builds the jobs; the
	// cluster's should agree with it.
	conf := flinkConfDir(t, ms, jobServer, jsArgs["flink-conf-dir"])
	for _, k := range []string{"execution.checkpointing.interval", "execution.checkpointing.mode", "state.backend.type", "state.checkpoints.dir"} {
		if conf[k] == "" {
			t.Errorf("job server Flink configuration: %s unset", k)
		}
		if fd.Spec.FlinkConfiguration[k] != conf[k] {
			t.Errorf("%s: cluster %q, job server %q", k, fd.Spec.FlinkConfiguration[k], conf[k])
		}
	}
	if d, err := time.ParseDuration(conf["execution.checkpointing.interval"]); err != nil || d <= 0 {
		t.Errorf("execution.checkpointing.interval %q: want a positive duration (%v)", conf["execution.checkpointing.interval"], err)
	}

	// Shared storage: artifacts and checkpoints under one ReadWriteMany claim
	// that the job server, the JobManager and the TaskManagers mount.
	jsPod := &jobServer.Spec.Template.Spec
	tm := fd.Spec.TaskManager
	if tm == nil || tm.PodTemplate == nil {
		t.Fatal("taskManager.podTemplate: want the Beam worker-pool sidecar")
	}
	jm := fd.Spec.JobManager
	if jm == nil || jm.PodTemplate == nil {
		t.Fatal("jobManager.podTemplate: want the shared volume")
	}
	for _, p := range []struct {
		what string
		dir  string
	}{
		{"--artifacts-dir", jsArgs["artifacts-dir"]},
		{"state.checkpoints.dir", strings.TrimPrefix(conf["state.checkpoints.dir"], "file://")},
	} {
		claim := claimAt(jsPod, js, p.dir)
		if claim == "" {
			t.Errorf("%s %s: not on a PersistentVolumeClaim the job server mounts", p.what, p.dir)
			continue
		}
		for _, pod := range []*corev1.PodSpec{&tm.PodTemplate.Spec, &jm.PodTemplate.Spec} {
			main := container(pod, "flink-main-container")
			if main == nil || claimAt(pod, main, p.dir) != claim {
				t.Errorf("%s %s: the Flink pods do not mount claim %s there", p.what, p.dir, claim)
			}
		}
		pvc := named[corev1.PersistentVolumeClaim](ms, claim)
		if pvc == nil || !slices.Contains(pvc.Spec.AccessModes, corev1.ReadWriteMany) {
			t.Errorf("claim %s: want a ReadWriteMany PersistentVolumeClaim in deploy/k8s", claim)
		}
	}

	// The worker pool sidecar.
	pool := -1
	var poolC *corev1.Container
	for i := range tm.PodTemplate.Spec.Containers {
		c := &tm.PodTemplate.Spec.Containers[i]
		if slices.Contains(c.Args, "--worker_pool") {
			poolC = c
			for _, p := range c.Ports {
				pool = int(p.ContainerPort)
			}
		}
	}
	if poolC == nil {
		t.Fatal("no TaskManager container runs --worker_pool")
	}
	if file, target := imageDockerfile(poolC.Image); target != "beam-worker" || !pinnedTag(poolC.Image) {
		t.Errorf("worker pool image %s: want a tagged beam-worker image of deploy/docker (%s)", poolC.Image, file)
	}
	if pool != 50000 {
		t.Errorf("worker pool port %d: Beam's Go boot loader serves the pool on 50000", pool)
	}

	// The submitting Job: endpoint, environment, worker binary.
	var submit *runContainer
	for _, rc := range runContainers(t, ms) {
		if _, ok := rc.m.obj.(*batchv1.Job); ok && rc.opts["runner"] == "flink" {
			submit = &rc
		}
	}
	if submit == nil {
		t.Fatal("no Job runs dlmstream run --runner=flink")
	}
	b := submit.cl.beam
	svc := named[corev1.Service](ms, "beam-flink-job-server")
	if svc == nil {
		t.Fatal("no Service beam-flink-job-server")
	}
	var jobPort int32
	for _, p := range svc.Spec.Ports {
		if p.Name == "job" {
			jobPort = p.Port
		}
	}
	if want := fmt.Sprintf("%s:%d", svc.Name, jobPort); b["endpoint"] != want || jsArgs["job-port"] != strconv.Itoa(int(jobPort)) {
		t.Errorf("--endpoint=%s, job server --job-port=%s: want %s", b["endpoint"], jsArgs["job-port"], want)
	}
	if b["environment_type"] != "EXTERNAL" || b["environment_config"] != fmt.Sprintf("localhost:%d", pool) {
		t.Errorf("--environment_type=%s --environment_config=%s: want EXTERNAL localhost:%d (the sidecar)", b["environment_type"], b["environment_config"], pool)
	}
	if b["worker_binary"] != imageBinary {
		t.Errorf("--worker_binary=%q: want %s, the image's binary (Beam %s would compile one from source)", b["worker_binary"], imageBinary, mod.beamVersion)
	}
	if submit.opts["streaming"] != "true" {
		t.Error("the Flink job is not --streaming")
	}
	checkEnvAndSecrets(t, ms, *submit)
}

// flinkConfDir reads config.yaml from the ConfigMap mounted at dir.
func flinkConfDir(t *testing.T, ms []manifest, d *appsv1.Deployment, dir string) map[string]string {
	t.Helper()
	pod := &d.Spec.Template.Spec
	for _, vm := range pod.Containers[0].VolumeMounts {
		if vm.MountPath != dir {
			continue
		}
		for _, v := range pod.Volumes {
			if v.Name != vm.Name || v.ConfigMap == nil {
				continue
			}
			cm := named[corev1.ConfigMap](ms, v.ConfigMap.Name)
			if cm == nil {
				t.Fatalf("--flink-conf-dir %s: no ConfigMap %s", dir, v.ConfigMap.Name)
			}
			var kv map[string]any
			if err := yaml.UnmarshalStrict([]byte(cm.Data["config.yaml"]), &kv); err != nil {
				t.Fatalf("ConfigMap %s config.yaml: %v", cm.Name, err)
			}
			out := map[string]string{}
			for k, val := range kv {
				out[k] = fmt.Sprint(val)
			}
			return out
		}
	}
	t.Fatalf("--flink-conf-dir %s: no ConfigMap mounted there", dir)
	return nil
}

func container(pod *corev1.PodSpec, name string) *corev1.Container {
	for i := range pod.Containers {
		if pod.Containers[i].Name == name {
			return &pod.Containers[i]
		}
	}
	return nil
}

// claimAt is the PersistentVolumeClaim mounted at or above dir, or "".
func claimAt(pod *corev1.PodSpec, c *corev1.Container, dir string) string {
	for _, vm := range c.VolumeMounts {
		if dir != vm.MountPath && !strings.HasPrefix(dir, strings.TrimSuffix(vm.MountPath, "/")+"/") {
			continue
		}
		for _, v := range pod.Volumes {
			if v.Name == vm.Name && v.PersistentVolumeClaim != nil {
				return v.PersistentVolumeClaim.ClaimName
			}
		}
	}
	return ""
}
