package deploy

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

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
