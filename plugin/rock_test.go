package plugin

import (
	"strings"
	"testing"
)

// TestImageNameAloneHintsItsTags: a name without a tag is name:latest to
// the daemon; the refusal finds the local images of its other tags.
func TestImageNameAloneHintsItsTags(t *testing.T) {
	const a = "sha256:5ce4e53e997b1f2e3d4c5b6a79880123456789abcdef0123456789abcdef01"
	const b = "sha256:9d0a2e1f77c31f2e3d4c5b6a79880123456789abcdef0123456789abcdef01"
	hub := newHub(t)
	d := newDaemonFake(t, fakeImage{id: a, tags: []string{"ux-app:1.0"}}, fakeImage{id: b, tags: []string{"two:1", "other:3"}}, fakeImage{id: "sha256:" + strings.Repeat("1", 64), tags: []string{"two:2"}})
	env := hubEnv(hub, ownerToken)
	env["DOCKER_HOST"] = d.host()
	tests := []struct {
		image string
		want  []string
	}{
		{"ux-app", []string{"is an image name", "use --image=5ce4e53e997b, the ID of the local image ux-app:1.0"}},
		{"two", []string{"is an image name", "9d0a2e1f77c3 (two:1, other:3)", "111111111111 (two:2)"}},
		{"none-such", []string{"is an image name", "rock"}},
	}
	for _, tt := range tests {
		t.Run(tt.image, func(t *testing.T) {
			res := run(t, env, "upload-resource", "my-charm", "my-image", "--image="+tt.image)
			if res.code != 1 {
				t.Fatalf("--image=%s was not refused: %s", tt.image, res)
			}
			for _, want := range tt.want {
				if !strings.Contains(res.stderr, want) {
					t.Errorf("the refusal does not say %q: %s", want, res)
				}
			}
		})
	}
	if n := len(hub.Requests()); n != 0 {
		t.Errorf("Charmhub got %d requests for refused values", n)
	}
}
