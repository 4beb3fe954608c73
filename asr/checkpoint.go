package asr

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"dlmstream/engine/model"
)

// Model is the speech side of a checkpoint: the Whisper encoder, the
// optional CTC head (the ASR prior) and the projector into the language
// model, with the prompt layout the checkpoint was trained on.
//
// Two layouts load: a composite speech checkpoint (model_type "dlm_asr",
// as testdata/models/demo-speech: audio_config, ctc, projector,
// feature_extractor blocks in config.json, weights model.encoder.*,
// ctc_head.*, projector.*, language_model.*), and a stock Hugging Face
// Whisper checkpoint (model_type "whisper", weights model.encoder.* or
// encoder.*, preprocessor_config.json for the front end), optionally with a
// projector block and projector.* weights.
type Model struct {
	Encoder   *Whisper
	CTC       *CTC      // nil when the checkpoint has no CTC head
	Projector Projector // nil when the checkpoint has no projector
	Config    CheckpointConfig

	owned *model.Weights
}

// CheckpointConfig is what config.json says about the speech side.
type CheckpointConfig struct {
	ModelType      string           `json:"model_type"`
	Audio          *WhisperConfig   `json:"audio_config"`
	CTC            *CTCConfig       `json:"ctc"`
	Projector      *ProjectorConfig `json:"projector"`
	Features       json.RawMessage  `json:"feature_extractor"`
	AudioToken     string           `json:"audio_token"`
	AudioTokenID   *int32           `json:"audio_token_id"`
	NumAudioTokens int              `json:"num_audio_tokens"`
	Prompt         struct {
		User string `json:"user"`
	} `json:"prompt"`
}

// Load opens dir's weights and reads its speech side. The encoder aliases
// the memory map; Close releases it.
func Load(dir string) (*Model, error) { return LoadWith(dir, model.LoadOptions{}) }

// LoadWith is Load whose matrices follow opts (model.LoadOptions: weight
// type, Exact kernels).
func LoadWith(dir string, opts model.LoadOptions) (*Model, error) {
	w, err := model.OpenWeightsWith(dir, opts)
	if err != nil {
		return nil, err
	}
	m, err := LoadFrom(dir, w)
	if err != nil {
		w.Close()
		return nil, err
	}
	m.owned = w
	return m, nil
}

// LoadFrom reads the speech side of dir from already open weights (the
// engine's, so the encoder and the language model share one memory map).
func LoadFrom(dir string, w *model.Weights) (*Model, error) {
	p := filepath.Join(dir, "config.json")
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	var cc CheckpointConfig
	if err := json.Unmarshal(b, &cc); err != nil {
		return nil, fmt.Errorf("%s: %v", p, err)
	}
	m := &Model{Config: cc}
	wc := cc.Audio
	switch cc.ModelType {
	case "whisper":
		wc = new(WhisperConfig)
		if err := json.Unmarshal(b, wc); err != nil {
			return nil, fmt.Errorf("%s: %v", p, err)
		}
	case "dlm_asr":
		if wc == nil {
			return nil, fmt.Errorf("%s: dlm_asr checkpoint without audio_config", p)
		}
	default:
		return nil, fmt.Errorf("%s: model_type %q has no speech encoder (want dlm_asr or whisper)", p, cc.ModelType)
	}
	prefix := "model.encoder."
	if !w.Has(prefix+"conv1.weight") && w.Has("encoder.conv1.weight") {
		prefix = "encoder."
	}
	if m.Encoder, err = loadWhisper(w, prefix, *wc); err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	if cc.CTC != nil {
		if m.CTC, err = loadCTC(w, *cc.CTC, wc.DModel); err != nil {
			return nil, fmt.Errorf("%s: %w", dir, err)
		}
	}
	if cc.Projector != nil {
		if m.Projector, err = loadProjector(w, *cc.Projector, wc.DModel); err != nil {
			return nil, fmt.Errorf("%s: %w", dir, err)
		}
	}
	return m, nil
}

// Close releases the weights Load opened (nothing for LoadFrom).
func (m *Model) Close() error {
	if m.owned != nil {
		return m.owned.Close()
	}
	return nil
}
