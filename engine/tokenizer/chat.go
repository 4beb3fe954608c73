package tokenizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Message is one chat turn. Role is "system", "user", "assistant" or
// "tool"; other roles are dropped, as the Qwen templates drop them.
type Message struct{ Role, Content string }

// ChatOptions controls ApplyChatTemplate.
type ChatOptions struct {
	// AddGenerationPrompt appends the opening of an assistant turn.
	AddGenerationPrompt bool
	// EnableThinking: nil leaves the template default. For Qwen3 templates
	// false appends an empty <think></think> block after the generation
	// prompt; true is the default. Ignored by Qwen2.5-style templates.
	EnableThinking *bool
}

// chatStyle is the ChatML dialect a chat_template implements.
type chatStyle int

const (
	chatQwen3  chatStyle = iota + 1 // reasoning blocks, enable_thinking
	chatQwen25                      // default system prompt when none is given
)

type chatConfig struct {
	style         chatStyle
	defaultSystem string // chatQwen25; "" for none
}

// defaultSystemRE finds a literal default system turn in a Jinja template,
// e.g. '<|im_start|>system\nYou are Qwen...<|im_end|>\n'.
var defaultSystemRE = regexp.MustCompile(`<\|im_start\|>system\\n([^'"\\]+)<\|im_end\|>`)

// parseChatConfig reads tokenizer_config.json's chat_template and picks the
// ChatML dialect it implements. There is no Jinja engine: templates that are
// not ChatML are refused when ApplyChatTemplate is called.
func parseChatConfig(configJSON []byte) (*chatConfig, error) {
	var cfg struct {
		ChatTemplate json.RawMessage `json:"chat_template"`
	}
	if err := json.Unmarshal(configJSON, &cfg); err != nil {
		return nil, fmt.Errorf("tokenizer: parse tokenizer_config.json: %w", err)
	}
	if len(cfg.ChatTemplate) == 0 || string(cfg.ChatTemplate) == "null" {
		return nil, nil
	}
	var tmpl string
	if err := json.Unmarshal(cfg.ChatTemplate, &tmpl); err != nil {
		// A list of named templates: use "default".
		var named []struct{ Name, Template string }
		if err := json.Unmarshal(cfg.ChatTemplate, &named); err != nil {
			return nil, fmt.Errorf("tokenizer: tokenizer_config.json chat_template: %w", err)
		}
		for _, n := range named {
			if n.Name == "default" {
				tmpl = n.Template
			}
		}
	}
	switch {
	case !strings.Contains(tmpl, "<|im_start|>"):
		return &chatConfig{}, nil // not ChatML: refused on use
	case strings.Contains(tmpl, "enable_thinking"):
		return &chatConfig{style: chatQwen3}, nil
	case strings.Contains(tmpl, "<think>"):
		// QwQ and Qwen3-2507 variants treat reasoning differently.
		return &chatConfig{}, nil
	default:
		c := &chatConfig{style: chatQwen25}
		if m := defaultSystemRE.FindStringSubmatch(tmpl); m != nil {
			c.defaultSystem = m[1]
		}
		return c, nil
	}
}

// ApplyChatTemplate renders msgs as the model's ChatML prompt, the same
// string HF's apply_chat_template(..., tokenize=False) gives. The dialect is
// chosen from tokenizer_config.json's chat_template:
//
//   - mentions enable_thinking: Qwen3 (reasoning blocks of the latest
//     assistant turns kept, others dropped; EnableThinking=false adds an
//     empty think block to the generation prompt);
//   - other ChatML without <think>: Qwen2/Qwen2.5 (plain turns, the
//     template's literal default system turn when the first message is not
//     a system message, consecutive tool messages grouped);
//   - anything else (no <|im_start|>, or other reasoning dialects): error.
//
// Qwen3 is checked against jinja2 goldens in testdata; the Qwen2.5 path has
// hand-written tests. No Jinja engine is involved.
func (t *Tokenizer) ApplyChatTemplate(msgs []Message, opts ChatOptions) (string, error) {
	if t.chat == nil {
		return "", errors.New("tokenizer: no chat_template (tokenizer_config.json missing or without one)")
	}
	if len(msgs) == 0 {
		return "", errors.New("tokenizer: ApplyChatTemplate needs at least one message")
	}
	var sb strings.Builder
	switch t.chat.style {
	case chatQwen3:
		renderQwen3(&sb, msgs)
	case chatQwen25:
		renderQwen25(&sb, msgs, t.chat.defaultSystem)
	default:
		return "", errors.New("tokenizer: chat_template is not a supported ChatML dialect (Qwen3 or Qwen2/2.5)")
	}
	if opts.AddGenerationPrompt {
		sb.WriteString("<|im_start|>assistant\n")
		if t.chat.style == chatQwen3 && opts.EnableThinking != nil && !*opts.EnableThinking {
			sb.WriteString("<think>\n\n</think>\n\n")
		}
	}
	return sb.String(), nil
}

// turn writes one complete ChatML turn.
func turn(sb *strings.Builder, role, content string) {
	sb.WriteString("<|im_start|>" + role + "\n" + content + "<|im_end|>\n")
}

// toolTurn writes a tool message; consecutive tool messages share one
// user turn.
func toolTurn(sb *strings.Builder, msgs []Message, i int) {
	if i == 0 || msgs[i-1].Role != "tool" {
		sb.WriteString("<|im_start|>user")
	}
	sb.WriteString("\n<tool_response>\n" + msgs[i].Content + "\n</tool_response>")
	if i == len(msgs)-1 || msgs[i+1].Role != "tool" {
		sb.WriteString("<|im_end|>\n")
	}
}

func renderQwen25(sb *strings.Builder, msgs []Message, defaultSystem string) {
	if msgs[0].Role != "system" && defaultSystem != "" {
		turn(sb, "system", defaultSystem)
	}
	for i, m := range msgs {
		switch {
		case m.Role == "user" || m.Role == "assistant" || m.Role == "system":
			turn(sb, m.Role, m.Content)
		case m.Role == "tool":
			toolTurn(sb, msgs, i)
		}
	}
}

func renderQwen3(sb *strings.Builder, msgs []Message) {
	if msgs[0].Role == "system" {
		turn(sb, "system", msgs[0].Content)
	}
	// The last user message that is not a wrapped tool response: assistant
	// turns after it keep their reasoning.
	lastQuery := len(msgs) - 1
	for i := len(msgs) - 1; i >= 0; i-- {
		c := msgs[i].Content
		if msgs[i].Role == "user" && !(strings.HasPrefix(c, "<tool_response>") && strings.HasSuffix(c, "</tool_response>")) {
			lastQuery = i
			break
		}
	}
	for i, m := range msgs {
		switch {
		case m.Role == "user" || m.Role == "system" && i > 0:
			turn(sb, m.Role, m.Content)
		case m.Role == "assistant":
			content, reasoning := m.Content, ""
			if strings.Contains(content, "</think>") {
				parts := strings.Split(content, "</think>")
				content = strings.TrimLeft(parts[len(parts)-1], "\n")
				before := strings.Split(strings.TrimRight(parts[0], "\n"), "<think>")
				reasoning = strings.TrimLeft(before[len(before)-1], "\n")
			}
			sb.WriteString("<|im_start|>assistant\n")
			if i > lastQuery && (i == len(msgs)-1 || reasoning != "") {
				sb.WriteString("<think>\n" + strings.Trim(reasoning, "\n") + "\n</think>\n\n" + strings.TrimLeft(content, "\n"))
			} else {
				sb.WriteString(content)
			}
			sb.WriteString("<|im_end|>\n")
		case m.Role == "tool":
			toolTurn(sb, msgs, i)
		}
	}
}
