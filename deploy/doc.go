// Package deploy holds no code: its tests check the deployment artifacts
// beside it against the code they deploy, without Docker or a cluster.
//
//	docker/     Dockerfile (CPU, distroless) and Dockerfile.cuda (NVIDIA CUDA 13 runtime)
//	k8s/        consumer-group worker Deployment, Service, ConfigMap, KEDA ScaledObject,
//	            GPU variant; k8s/flink: Flink session cluster, Beam job server, submit Job
//	flink/      running dlmstream on Flink through Beam's Flink job server
//	dataflow/   building and submitting the job for Google Cloud Dataflow
//
// What the tests check (go test ./deploy):
//
//   - Dockerfiles, read by a small parser of the instructions these files use
//     (dockerfile_test.go): every base image pinned to a tag; the binary built
//     with CGO_ENABLED=0 -trimpath from ./cmd/dlmstream on the go.mod Go
//     version; a non-root numeric USER and an exec-form ENTRYPOINT of the
//     binary in the final stage; Beam's boot loader from the go.mod Beam
//     version in the beam-worker stage; every COPY source present in the
//     repository and let through by the Dockerfile's .dockerignore; a glibc base
//     while the binary links purego; the CUDA libraries kernels/cuda opens.
//   - Kubernetes manifests (manifests_test.go): every YAML document decoded
//     strictly (unknown, duplicate and wrongly-cased fields are errors) into
//     the k8s.io/api types, or for KEDA and the Flink operator into the
//     minimal local mirrors of their CRD types in crd_test.go; then the
//     cross-checks between them and with cmd/dlmstream: flags, probe ports,
//     grace period against --drain-timeout, ScaledObject against the
//     Deployment and its consumer group, Secret keys, job server and Flink
//     versions against go.mod.
//   - Commands (flags_test.go): `dlmstream run` in the manifests and in the
//     READMEs use only flags that cmd/dlmstream registers (read from its
//     source), and after "--" only flags the Beam Go SDK of go.mod defines.
package deploy
