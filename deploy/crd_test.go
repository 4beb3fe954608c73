package deploy

import (
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Local mirrors of the custom resources the manifests use, decoded as
// strictly as the built-in kinds.
//
// KEDA (keda.sh/v1alpha1): the field names and JSON tags are those of
// github.com/kedacore/keda/v2/apis/keda/v1alpha1 (scaledobject_types.go,
// scaletriggers_types.go, triggerauthentication_types.go), cut to the fields
// a ScaledObject and a TriggerAuthentication of ours may set. The upstream
// package is not imported: it lives in KEDA's single module, whose go.mod
// carries every scaler's cloud SDKs, and its package imports
// controller-runtime.
//
// Flink Kubernetes Operator (flink.apache.org/v1beta1): the operator is Java
// (org.apache.flink.kubernetes.operator.api.spec), with no Go types to
// import; these follow its FlinkDeploymentSpec, JobManagerSpec,
// TaskManagerSpec and Resource, with the pod templates decoded as core/v1
// Pods, which is what the operator merges them into.
//
// A field the operator or KEDA accepts but these lack fails the decode: add
// it here, with the upstream spelling, when a manifest needs it.

type scaledObject struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              scaledObjectSpec `json:"spec"`
}

type scaledObjectSpec struct {
	ScaleTargetRef        *scaleTarget     `json:"scaleTargetRef"`
	PollingInterval       *int32           `json:"pollingInterval,omitempty"`
	InitialCooldownPeriod *int32           `json:"initialCooldownPeriod,omitempty"`
	CooldownPeriod        *int32           `json:"cooldownPeriod,omitempty"`
	IdleReplicaCount      *int32           `json:"idleReplicaCount,omitempty"`
	MinReplicaCount       *int32           `json:"minReplicaCount,omitempty"`
	MaxReplicaCount       *int32           `json:"maxReplicaCount,omitempty"`
	Advanced              *advancedConfig  `json:"advanced,omitempty"`
	Triggers              []scaleTrigger   `json:"triggers"`
	Fallback              *scalingFallback `json:"fallback,omitempty"`
}

type scaleTarget struct {
	Name                   string `json:"name"`
	APIVersion             string `json:"apiVersion,omitempty"`
	Kind                   string `json:"kind,omitempty"`
	EnvSourceContainerName string `json:"envSourceContainerName,omitempty"`
}

type advancedConfig struct {
	HorizontalPodAutoscalerConfig *hpaConfig `json:"horizontalPodAutoscalerConfig,omitempty"`
	RestoreToOriginalReplicaCount bool       `json:"restoreToOriginalReplicaCount,omitempty"`
}

type hpaConfig struct {
	Behavior *autoscalingv2.HorizontalPodAutoscalerBehavior `json:"behavior,omitempty"`
	Name     string                                         `json:"name,omitempty"`
}

type scalingFallback struct {
	FailureThreshold int32  `json:"failureThreshold"`
	Replicas         int32  `json:"replicas"`
	Behavior         string `json:"behavior,omitempty"`
}

type scaleTrigger struct {
	Type              string                         `json:"type"`
	Name              string                         `json:"name,omitempty"`
	UseCachedMetrics  bool                           `json:"useCachedMetrics,omitempty"`
	Metadata          map[string]string              `json:"metadata"`
	AuthenticationRef *authenticationRef             `json:"authenticationRef,omitempty"`
	MetricType        autoscalingv2.MetricTargetType `json:"metricType,omitempty"`
}

type authenticationRef struct {
	Name string `json:"name"`
	Kind string `json:"kind,omitempty"`
}

type triggerAuthentication struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              triggerAuthenticationSpec `json:"spec"`
}

type triggerAuthenticationSpec struct {
	SecretTargetRef []authSecretTargetRef `json:"secretTargetRef,omitempty"`
	Env             []authEnvironment     `json:"env,omitempty"`
}

type authSecretTargetRef struct {
	Parameter string `json:"parameter"`
	Name      string `json:"name"`
	Key       string `json:"key"`
}

type authEnvironment struct {
	Parameter     string `json:"parameter"`
	Name          string `json:"name"`
	ContainerName string `json:"containerName,omitempty"`
}

// kafkaTriggerKeys are the metadata keys of KEDA's kafka scaler
// (pkg/scalers/kafka_scaler.go, kafkaMetadata's keda:"name=..." tags).
var kafkaTriggerKeys = []string{
	"bootstrapServers", "bootstrapServersFromEnv", "consumerGroup", "consumerGroupFromEnv",
	"topic", "topicFromEnv", "partitionLimitation", "lagThreshold", "activationLagThreshold",
	"offsetResetPolicy", "allowIdleConsumers", "excludePersistentLag", "scaleToZeroOnInvalidOffset",
	"limitToPartitionsWithLag", "ensureEvenDistributionOfPartitions", "version",
	"sasl", "tls", "unsafeSsl",
}

type flinkDeployment struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              flinkDeploymentSpec `json:"spec"`
}

type flinkDeploymentSpec struct {
	Job                *flinkJobSpec     `json:"job,omitempty"`
	RestartNonce       *int64            `json:"restartNonce,omitempty"`
	FlinkConfiguration map[string]string `json:"flinkConfiguration,omitempty"`
	Image              string            `json:"image,omitempty"`
	ImagePullPolicy    string            `json:"imagePullPolicy,omitempty"`
	ServiceAccount     string            `json:"serviceAccount,omitempty"`
	FlinkVersion       string            `json:"flinkVersion,omitempty"`
	PodTemplate        *corev1.Pod       `json:"podTemplate,omitempty"`
	JobManager         *flinkJobManager  `json:"jobManager,omitempty"`
	TaskManager        *flinkTaskManager `json:"taskManager,omitempty"`
	LogConfiguration   map[string]string `json:"logConfiguration,omitempty"`
	Mode               string            `json:"mode,omitempty"`
}

type flinkJobSpec struct {
	JarURI      string   `json:"jarURI,omitempty"`
	Parallelism int32    `json:"parallelism,omitempty"`
	EntryClass  string   `json:"entryClass,omitempty"`
	Args        []string `json:"args,omitempty"`
	State       string   `json:"state,omitempty"`
	UpgradeMode string   `json:"upgradeMode,omitempty"`
}

type flinkResource struct {
	CPU              float64 `json:"cpu,omitempty"`
	Memory           string  `json:"memory,omitempty"`
	EphemeralStorage string  `json:"ephemeralStorage,omitempty"`
}

type flinkJobManager struct {
	Resource    *flinkResource `json:"resource,omitempty"`
	Replicas    int32          `json:"replicas,omitempty"`
	PodTemplate *corev1.Pod    `json:"podTemplate,omitempty"`
}

type flinkTaskManager struct {
	Resource    *flinkResource `json:"resource,omitempty"`
	Replicas    *int32         `json:"replicas,omitempty"`
	PodTemplate *corev1.Pod    `json:"podTemplate,omitempty"`
}
