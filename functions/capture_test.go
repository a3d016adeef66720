package functions

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/utils/clock"

	"github.com/snapflow/snapflow/engine/function"
)

// clusterRuntime is a Runtime for functions that call the cluster through
// c; rec collects the messages and cleanups they report.
func clusterRuntime(c function.Clients) (*function.Runtime, *reported) {
	rec := &reported{}
	return &function.Runtime{
		Names:    function.NewNames("backup-x7k2p", "uid-1", "dump"),
		Progress: function.NoProgress{},
		Cleanup:  func(_ context.Context, k string) error { rec.cleanups = append(rec.cleanups, k); return nil },
		Message:  func(m string) { rec.messages = append(rec.messages, m) },
		Clock:    clock.RealClock{},
		Clients:  c,
	}, rec
}

type reported struct {
	messages, cleanups []string
}

func TestTailBufferKeepsWholeLinesOfTheEnd(t *testing.T) {
	tb := newTailBuffer(10)
	for _, s := range []string{"first line\n", "second\n", "ab\n", "cd\n"} {
		if _, err := tb.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	// The last 10 bytes are "\nab\ncd\n" preceded by "cond": the partial
	// line goes.
	if got, want := tb.String(), "ab\ncd\n"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got, want := tb.Tail(4), "cd\n"; got != want {
		t.Errorf("Tail(4) = %q, want %q", got, want)
	}
	small := newTailBuffer(100)
	_, _ = small.Write([]byte("all\nof it\n"))
	if got := small.String(); got != "all\nof it\n" {
		t.Errorf("uncut String() = %q", got)
	}
	if len(tb.buf) > 2*tb.max {
		t.Errorf("buffer grew to %d bytes", len(tb.buf))
	}
}

func TestTail(t *testing.T) {
	cases := []struct{ in, want string }{
		{"  short\n", "short"},
		{"0123456789", "0123456789"},
		{"0123456789abc", "...3456789abc"},
		{"xxxxxxé123456789", "...123456789"}, // never starts inside a character
	}
	for _, tc := range cases {
		if got := tail(tc.in, 10); got != tc.want {
			t.Errorf("tail(%q, 10) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestHead(t *testing.T) {
	cases := []struct{ in, want string }{
		{"short", "short"},
		{"0123456789abc", "0123456789..."},
		{"012345678é", "012345678..."}, // never ends inside a character
	}
	for _, tc := range cases {
		if got := head(tc.in, 10); got != tc.want {
			t.Errorf("head(%q, 10) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestLastJSONObject(t *testing.T) {
	cases := []struct {
		name, out string
		want      string // JSON
	}{
		{"last object wins", "{\"a\": 1}\nlog\n{\"b\": 12345678901234567}\n\n", `{"b": 12345678901234567}`},
		{"skips later non-objects", "{\"a\": \"x\"}\n[1, 2]\n{broken\n\"str\"\n", `{"a": "x"}`},
		{"trailing data is not an object", "{\"a\": 1}\n{\"b\": 2} extra\n{\"c\": 3}}\n", `{"a": 1}`},
		{"no trailing newline", "log\n  {\"nested\": {\"k\": [true]}}  ", `{"nested": {"k": [true]}}`},
		{"none", "just text\n", `{}`},
		{"empty", "", `{}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := json.Marshal(lastJSONObject(tc.out))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(string(got), strings.ReplaceAll(tc.want, " ", "")); d != "" {
				t.Errorf("(-got +want):\n%s", d)
			}
		})
	}
}
