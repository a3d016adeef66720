package functions

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// Bounds on what kubeExec and kubeTask keep of a command's output: status
// must stay small, and what matters (the result line, the error) is at the
// end.
const (
	// captureLimit is how much of the end of stdout or a log is read for
	// the JSON output line.
	captureLimit = 64 << 10
	// outputLimit is how much of that becomes the stdout, stderr or log
	// output.
	outputLimit = 16 << 10
	// errorTailLimit is how much of stderr or a log an error message
	// quotes.
	errorTailLimit = 1 << 10
)

// tailBuffer is an io.Writer that keeps only the last max bytes written.
type tailBuffer struct {
	max       int
	buf       []byte
	truncated bool
}

func newTailBuffer(max int) *tailBuffer { return &tailBuffer{max: max} }

// Write implements io.Writer; it never fails.
func (t *tailBuffer) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	// Trim only when twice over, so trimming stays amortised O(1) a byte.
	if len(t.buf) > 2*t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
		t.truncated = true
	}
	return len(p), nil
}

// String returns the kept bytes, in whole lines if earlier ones were
// dropped.
func (t *tailBuffer) String() string { return t.Tail(t.max) }

// Tail returns at most the last n kept bytes. When anything before them
// was dropped, so is the first, partial line: every line returned is whole.
func (t *tailBuffer) Tail(n int) string {
	b, cut := t.buf, t.truncated
	if len(b) > n {
		b, cut = b[len(b)-n:], true
	}
	if cut {
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return string(b)
}

// tail returns at most n bytes of the end of s, trimmed of surrounding
// space and starting on a whole character, after "..." when it was cut. It
// keeps error messages and outputs short.
func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	s = s[len(s)-n:]
	for len(s) > 0 && !utf8.RuneStart(s[0]) {
		s = s[1:]
	}
	return "..." + s
}

// head returns at most n bytes of the start of s, then "..." when it was
// cut; a character cut in two is dropped.
func head(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "..."
}

// lastJSONObject returns the last line of out that is a JSON object, or an
// empty map. Scripts print one as their final line to pass structured
// outputs to later phases, after any amount of ordinary logging.
func lastJSONObject(out string) map[string]any {
	for out != "" {
		var line string
		if i := strings.LastIndexByte(out, '\n'); i >= 0 {
			out, line = out[:i], out[i+1:]
		} else {
			out, line = "", out
		}
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "{") {
			continue
		}
		obj := map[string]any{}
		dec := json.NewDecoder(strings.NewReader(line))
		dec.UseNumber() // keep large integers exact
		if dec.Decode(&obj) == nil && dec.InputOffset() == int64(len(line)) {
			return obj
		}
	}
	return map[string]any{}
}
