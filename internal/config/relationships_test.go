package config

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestAgentRelationshipsURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		wantErr string
	}{
		{name: "unset"},
		{name: "https", env: map[string]string{"ASSIST_AGENT_RELATIONSHIPS_URL": "https://acr.example/agent-client-relationships"}},
		{name: "http_loopback", args: []string{"--agent-relationships-url", "http://127.0.0.1:9434"}},
		{name: "http_localhost", args: []string{"--agent-relationships-url", "http://localhost:9434"}},
		{name: "http_remote", args: []string{"--agent-relationships-url", "http://acr.example"}, wantErr: "only to a loopback address"},
		{name: "password", args: []string{"--agent-relationships-url", "https://u:hunter2@acr.example"}, wantErr: "user name or password"},
		{name: "query", args: []string{"--agent-relationships-url", "https://acr.example/?k=v"}, wantErr: "query"},
		{name: "not_url", args: []string{"--agent-relationships-url", "acr.example"}, wantErr: "not an http(s) URL"},
		{name: "timeout_zero", args: []string{"--agent-relationships-timeout", "0s"}, wantErr: "--agent-relationships-timeout"},
		{name: "timeout_env", env: map[string]string{"ASSIST_AGENT_RELATIONSHIPS_TIMEOUT": "2h"}, wantErr: "--agent-relationships-timeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := Load(tc.args, env(tc.env), io.Discard)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Load(%q) = %v", tc.args, err)
				}
				if c.AgentRelationshipsTimeout != 5*time.Second {
					t.Errorf("AgentRelationshipsTimeout = %s, want 5s", c.AgentRelationshipsTimeout)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Load(%q) = %v, want an error about %q", tc.args, err, tc.wantErr)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("Load(%q) = %v, which shows the password", tc.args, err)
			}
		})
	}
}
