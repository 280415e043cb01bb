package calc

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// referenceTree is how Decode read a document before the one-pass decoder:
// encoding/json into a tree with json.Number, then a normalising copy. The
// one-pass decoder must give the same tree for every document both accept.
func referenceTree(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var root any
	if err := dec.Decode(&root); err != nil {
		return nil, err
	}
	return normalise("", root), nil
}

// normalise returns v with numbers as float64, keys renamed and enums in MTD
// spelling. parent is the key v sits under ("" at the top; for list elements,
// the list's key).
func normalise(parent string, v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, child := range t {
			name := k
			if r, ok := renamedInside[[2]string{parent, k}]; ok {
				name = r
			} else if r, ok := renamedKeys[k]; ok {
				name = r
			}
			if s, ok := child.(string); ok && (enumKeys[name] || (name == "name" && bandLists[parent])) {
				out[name] = normaliseEnum(name, s)
				continue
			}
			out[name] = normalise(name, child)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, child := range t {
			out[i] = normalise(parent, child)
		}
		return out
	case json.Number:
		f, err := t.Float64()
		if err != nil {
			// Out of float64 range: keep the literal so nothing is silently
			// changed; rules treat it as a string and do not fire.
			return t.String()
		}
		return f
	default:
		return v
	}
}

func TestDecodeTreeMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("../../testdata/calculations/*.json")
	inputs := [][]byte{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, data)
	}
	for _, s := range decodeSeeds {
		inputs = append(inputs, []byte(s))
	}
	for _, data := range inputs {
		checkSameTree(t, data)
	}
}

// decodeSeeds are documents at the edges of JSON: escapes, surrogates,
// invalid UTF-8, numbers at and past float64's range, renamed keys and
// enums, and malformed input.
var decodeSeeds = []string{
	`{"a":"\u00e9\ud83d\ude00\ud800x\"\\\/\b\f\n\r\t","b":"caf\xc3\xa9","c":"bad\xff\xfeutf8"}`,
	`{"n":[0,-0,1.5,-2.25e3,1E2,1e-7,99999999999.99,0.1,1e308,1e309,-1e400,123456789012345678901234567890]}`,
	`{"crystallised":true,"incomeSourceType":"01","taxBands":[{"name":"BRT"}],"inputs":{"cis":[]},"x":{"cis":1}}`,
	`{"a":1,"a":2}`, `[]`, `{}`, `null`, `  {"a" : [ 1 , { } , [ ] , "" ] }  `,
	`{"a":01}`, `{"a":1.}`, `{"a":.5}`, `{"a":+1}`, `{"a":1e}`, `{"a":-}`, `{"a":tru}`, `{"a":nul}`,
	`{"a":"x`, `{"a":"\x01"}`, `{"a":"\q"}`, `{"a":"\u12"}`, `{"a" 1}`, `{"a":1,}`, `[1,]`, `{1:2}`, `{"a":1`,
	"", " ", `"`, `{"metadata":{}} {}`, `{} x`, `{}]`,
}

func checkSameTree(t *testing.T, data []byte) {
	t.Helper()
	want, wantErr := referenceTree(data)
	_, got, gotErr := decodeTree(data)
	switch {
	case wantErr != nil && gotErr == nil:
		t.Errorf("decodeTree(%q) = %v, want an error like %v", data, got, wantErr)
	case wantErr == nil && gotErr != nil:
		// The old decoder ignored what followed the first value unless it
		// began another; the new one rejects it.
		if _, _, err := decodeTree(bytes.TrimSpace(data)[:firstValueEnd(data)]); err != nil {
			t.Errorf("decodeTree(%q) = %v, want %v", data, gotErr, want)
		}
	case wantErr == nil:
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("decodeTree(%q) differs from encoding/json (-want +got):\n%s", data, diff)
		}
	}
}

// firstValueEnd is the length of data's first JSON value.
func firstValueEnd(data []byte) int {
	dec := json.NewDecoder(bytes.NewReader(bytes.TrimSpace(data)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return 0
	}
	return int(dec.InputOffset())
}

func FuzzDecodeTree(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkSameTree(t, data)
	})
}

// TestExactFloatMatchesParseFloat pins the fast path for numbers to
// strconv.ParseFloat, bit for bit, on amounts of every size calculations
// hold and on literals at the fast path's limits.
func TestExactFloatMatchesParseFloat(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	lits := []string{"0", "-0", "0.0", "1", "-1.5", "0.1", "0.01", "99999999999.99", "-99999999999.99", "999999999999999", "0.00000000000001", "123456789012.345"}
	for range 200000 {
		digits := 1 + rng.IntN(15)
		var b strings.Builder
		if rng.IntN(2) == 0 {
			b.WriteByte('-')
		}
		for i := range digits {
			if i == digits-rng.IntN(digits) && i > 0 && !strings.Contains(b.String(), ".") {
				b.WriteByte('.')
			}
			b.WriteByte(byte('0' + rng.IntN(10)))
		}
		lits = append(lits, b.String())
	}
	for _, lit := range lits {
		want, err := strconv.ParseFloat(lit, 64)
		if err != nil {
			t.Fatalf("ParseFloat(%q): %v", lit, err)
		}
		got, ok := exactFloat(lit)
		if !ok || math.Float64bits(got) != math.Float64bits(want) {
			t.Errorf("exactFloat(%q) = %v, %v; want %v", lit, got, ok, want)
		}
	}
	for _, lit := range []string{"1e5", "1234567890123456", "0.1234567890123456"} {
		if _, ok := exactFloat(lit); ok {
			t.Errorf("exactFloat(%q) took the fast path, want ParseFloat", lit)
		}
	}
}
