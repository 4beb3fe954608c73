package model

// HostileConfig is one refused config.json body of config_test.go, for the
// external tests (the FuzzConfig seeds).
type HostileConfig struct{ Name, Body, Want string }

// HostileConfigs lists config_test.go's hostileConfigs.
func HostileConfigs() []HostileConfig {
	out := make([]HostileConfig, len(hostileConfigs))
	for i, h := range hostileConfigs {
		out[i] = HostileConfig{h.name, h.body, h.want}
	}
	return out
}
