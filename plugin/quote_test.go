package plugin

import "testing"

func TestQuotePath(t *testing.T) {
	tests := []struct{ in, want string }{
		{`Z:\work\data.bin`, `'Z:\work\data.bin'`},
		{`\\?\C:\Users\me\my data.tar.gz`, `'\\?\C:\Users\me\my data.tar.gz'`},
		{`./data.tar.gz`, `'./data.tar.gz'`},
		{`données/été.bin`, `'données/été.bin'`},
		{`it's.bin`, `"it's.bin"`},
		{"new\nline", `"new\nline"`},
		{"esc\x1b[2J", `"esc\x1b[2J"`},
		{"", `''`},
	}
	for _, tt := range tests {
		if got := quotePath(tt.in); got != tt.want {
			t.Errorf("quotePath(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
