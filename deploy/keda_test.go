package deploy

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

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
