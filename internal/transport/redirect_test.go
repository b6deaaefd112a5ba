package transport

import (
	"net/url"
	"testing"
)

func TestSameOrigin(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"https://r.example/v2/", "https://r.example/token", true},
		{"https://r.example/", "https://R.EXAMPLE:443/", true},
		{"http://r.example/", "http://r.example:80/", true},
		{"https://r.example/", "http://r.example/", false},
		{"https://r.example/", "https://r.example:5000/", false},
		{"https://r.example/", "https://storage.r.example/", false},
		{"https://r.example/", "https://r.example.evil/", false},
	}
	for _, tt := range tests {
		a, _ := url.Parse(tt.a)
		b, _ := url.Parse(tt.b)
		if got := SameOrigin(a, b); got != tt.want {
			t.Errorf("SameOrigin(%s, %s) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestAfterAttempts(t *testing.T) {
	if got := AfterAttempts(1); got != "" {
		t.Errorf("AfterAttempts(1) = %q", got)
	}
	if got := AfterAttempts(4); got != " (after 4 attempts)" {
		t.Errorf("AfterAttempts(4) = %q", got)
	}
}

func TestPrintable(t *testing.T) {
	if got := Printable("ok\x1b[31m red\u009b2J\u00e9\x7f\n"); got != "ok[31m red2Jé" {
		t.Errorf("Printable = %q", got)
	}
}
