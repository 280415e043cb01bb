package fraud

import (
	"bufio"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// now is when the fixtures' requests were sent.
var now = time.Date(2026, 2, 14, 20, 42, 0, 0, time.UTC)

// fullSet reads testdata/<method>.txt: the headers method requires, all valid.
func fullSet(tb testing.TB, m Method) http.Header {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", string(m)+".txt"))
	if err != nil {
		tb.Fatalf("read fixture: %v", err)
	}
	return parseBlock(string(b))
}

// parseBlock reads "Name: value" lines, skipping blank lines and # comments.
// Names are kept as written, as a proxy might pass them on.
func parseBlock(s string) http.Header {
	h := http.Header{}
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, _ := strings.Cut(line, ":")
		name = strings.TrimSpace(name)
		h[name] = append(h[name], strings.TrimSpace(value))
	}
	return h
}

// header finds name in r.Headers.
func header(tb testing.TB, r *Result, name string) Header {
	tb.Helper()
	for _, hd := range r.Headers {
		if hd.Name == name {
			return hd
		}
	}
	tb.Fatalf("no %s in Headers %v", name, names(r.Headers))
	return Header{}
}

func names(hs []Header) []string {
	var out []string
	for _, hd := range hs {
		out = append(out, hd.Name)
	}
	return out
}

// issuesOf are the messages of the issues about name alone.
func issuesOf(is []Issue, name string) []string {
	out := []string{}
	for _, x := range is {
		if slices.Equal(x.Headers, []string{name}) {
			out = append(out, x.Message)
		}
	}
	return out
}

// requires says whether m requires the header name (lower-case).
func requires(m Method, name string) bool {
	for _, s := range specs {
		if strings.EqualFold(s.name, name) {
			return s.required.has(m)
		}
	}
	return false
}

// set replaces name's value whatever case the key was written in.
// http.Header.Set alone would add Gov-Client-Device-Id beside
// Gov-Client-Device-ID, which Validate rightly reads as sent twice.
func set(h map[string][]string, name, value string) {
	del(h, name)
	h[name] = []string{value}
}

func del(h map[string][]string, name string) {
	for k := range h {
		if strings.EqualFold(k, name) {
			delete(h, k)
		}
	}
}

func requiredCount(m Method) int {
	n := 0
	for _, s := range specs {
		if s.required.has(m) {
			n++
		}
	}
	return n
}
