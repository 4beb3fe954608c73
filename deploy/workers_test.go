package deploy

import (
	"fmt"
	"net"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

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
